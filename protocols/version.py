"""Protocol versions ("major.minor") and the compatibility rule the app and server share.

A minor bump only adds optional fields or choices, so an older app can still
send records a newer server accepts. A major bump changes meaning (a field
renamed, a unit changed): an app that knows major 1 must refuse major 2 rather
than build a form that records the wrong thing.
"""
from __future__ import annotations

import re

from .i18n import N_
from .messages import TEXT

_VERSION = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)$")


class ProtocolVersionError(ValueError):
    """A version string is malformed or a protocol version is not supported.

    The error keeps its English template and parameters; :meth:`message` gives it in the
    language the app shows (Vietnamese in protocols/locale/vi.po).
    """

    def __init__(self, template: str, **params):
        super().__init__(template.format(**params))
        self.template, self.params = template, params

    def message(self, lang: str = "en") -> str:
        """The message in ``lang`` ("vi" or "en")."""
        return TEXT.gettext(self.template, lang, **self.params)


def parse_version(version: str) -> tuple[int, int]:
    """Parse "major.minor" into a tuple of ints; raise ProtocolVersionError if malformed."""
    match = _VERSION.match(str(version).strip()) if version is not None else None
    if not match:
        raise ProtocolVersionError(N_("protocol version {version!r} is not of the form 'major.minor' (e.g. '1.0')"),
                                   version=version)
    return int(match.group(1)), int(match.group(2))


def is_compatible(supported: str, offered: str) -> bool:
    """True when an app that supports ``supported`` can use a protocol at ``offered``.

    Same major version is compatible in both directions (minor versions only add).
    """
    return parse_version(supported)[0] == parse_version(offered)[0]


def check_compatibility(name: str, supported: str, offered: str) -> None:
    """Raise ProtocolVersionError with a clear bilingual message unless compatible.

    The app calls this when the server sends a protocol definition: a newer
    major version means "update the app"; an older major means the server is
    behind the app.
    """
    s_major, _ = parse_version(supported)
    o_major, _ = parse_version(offered)
    if o_major > s_major:
        raise ProtocolVersionError(N_("Protocol '{name}' version {offered} is newer than this app supports "
                                      "({major}.x). Update the Saola app before recording with it."),
                                   name=name, offered=offered, major=s_major)
    if o_major < s_major:
        raise ProtocolVersionError(N_("Protocol '{name}' version {offered} is older than this app's {major}.x; "
                                      "ask the administrator to update the server."),
                                   name=name, offered=offered, major=s_major)
