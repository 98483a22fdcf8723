"""Camtrap DP metadata of a program, filled once by its manager and used by every export.

A Camtrap DP package states how the survey was designed (``project.samplingDesign``, from
the standard's list), who made and holds the data (``contributors`` with the standard's
roles), under which licences data and media are released, how to cite it and its keywords.
Saola cannot guess these, so a manager fills them in on the exports page (or the API) and
they are kept in ``Program.settings[KEY]``; an export of a program without a sampling
design is refused with a message saying where to fill it in. Imported packages bring their
own (kept in the program's import provenance), which are used when nothing was filled.
"""
from __future__ import annotations

import re
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from protocols.i18n import N_

KEY = "camtrap_dp_metadata"  # key in Program.settings
#: project.samplingDesign values of Camtrap DP 1.0.2 (camtrap-dp-profile.json), with how the page names them.
SAMPLING_DESIGNS = {
    "simpleRandom": N_("Simple random"),
    "systematicRandom": N_("Systematic random (grid)"),
    "clusteredRandom": N_("Clustered random"),
    "experimental": N_("Experimental"),
    "targeted": N_("Targeted (trails, water, salt licks)"),
    "opportunistic": N_("Opportunistic"),
}
#: contributors[].role values of Camtrap DP 1.0.2.
ROLES = {
    "contact": N_("Contact"),
    "principalInvestigator": N_("Principal investigator"),
    "rightsHolder": N_("Rights holder"),
    "publisher": N_("Publisher"),
    "contributor": N_("Contributor"),
}
# An SPDX-like licence identifier (CC-BY-4.0, CC0-1.0, ODbL-1.0) or a URL.
_LICENCE = r"^([A-Za-z0-9][A-Za-z0-9.+-]{1,63}|https?://\S{4,300})$"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Contributor(BaseModel):
    """One person or organisation of the package (Data Package ``contributors``)."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    email: Optional[str] = Field(default=None, max_length=200)
    role: Literal["contact", "principalInvestigator", "rightsHolder", "publisher", "contributor"] = "contributor"
    organization: Optional[str] = Field(default=None, max_length=200)

    @field_validator("email")
    @classmethod
    def _email(cls, v: Optional[str]) -> Optional[str]:
        if v and not _EMAIL.match(v):
            raise ValueError("not an e-mail address")
        return v or None


class CamtrapMetadata(BaseModel):
    """What a manager states once per program for its Camtrap DP exports."""

    model_config = ConfigDict(extra="forbid")
    sampling_design: Literal["simpleRandom", "systematicRandom", "clusteredRandom", "experimental", "targeted",
                             "opportunistic"]
    baits: Optional[str] = Field(default=None, max_length=500)
    citation: Optional[str] = Field(default=None, max_length=1000)
    data_license: str = Field(default="CC-BY-4.0", pattern=_LICENCE)
    media_license: str = Field(default="CC-BY-NC-4.0", pattern=_LICENCE)
    contributors: list[Contributor] = Field(min_length=1, max_length=50)
    keywords: list[str] = Field(default_factory=list, max_length=30)
    description: Optional[str] = Field(default=None, max_length=4000)

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, v: list[str]) -> list[str]:
        out: list[str] = []
        for k in v:
            k = k.strip()
            if len(k) > 100:
                raise ValueError("a keyword is longer than 100 characters")
            if k and k not in out:
                out.append(k)
        return out


def stored(program: Any) -> dict[str, Any]:
    """The metadata filled for ``program`` (a dict as :class:`CamtrapMetadata` dumps it), or {}."""
    settings = program.settings if isinstance(getattr(program, "settings", None), dict) else {}
    meta = settings.get(KEY)
    return dict(meta) if isinstance(meta, dict) else {}


def sampling_design(program: Any) -> str | None:
    """The program's sampling design: filled in, else the older ``sampling_design`` setting, else None."""
    settings = program.settings if isinstance(getattr(program, "settings", None), dict) else {}
    design = stored(program).get("sampling_design") or settings.get("sampling_design")
    return design if design in SAMPLING_DESIGNS else None


def with_metadata(settings: dict[str, Any] | None, meta: CamtrapMetadata) -> dict[str, Any]:
    """Program settings with ``meta`` stored (the older ``sampling_design`` key kept in step)."""
    out = dict(settings or {})
    out[KEY] = meta.model_dump(mode="json")
    out["sampling_design"] = meta.sampling_design
    return out


def parse_contributors(text: str) -> list[dict[str, Any]]:
    """Contributors typed one per line as ``name; e-mail; role; organisation`` (only the name needed).

    The role may be given as the standard's value or as its English label; unknown roles stay as
    typed so that validation names them.
    """
    by_label = {str(label).lower(): code for code, label in ROLES.items()}
    by_label.update({code.lower(): code for code in ROLES})
    out = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(";")]
        if not parts or not parts[0]:
            continue
        parts += [""] * (4 - len(parts))
        role = parts[2]
        out.append({"title": parts[0], "email": parts[1] or None,
                    "role": by_label.get(role.lower(), role) if role else "contributor",
                    "organization": parts[3] or None})
    return out


def contributors_text(contributors: list[dict[str, Any]]) -> str:
    """The contributors as the form shows them (the inverse of :func:`parse_contributors`)."""
    lines = []
    for c in contributors or []:
        parts = [c.get("title") or "", c.get("email") or "", c.get("role") or "", c.get("organization") or ""]
        while parts and not parts[-1]:
            parts.pop()
        lines.append("; ".join(parts))
    return "\n".join(lines)


def descriptor_fields(meta: dict[str, Any]) -> dict[str, Any]:
    """The datapackage.json properties the filled metadata gives (contributors, licences, citation,
    keywords); the project's samplingDesign and description are set by the exporter."""
    out: dict[str, Any] = {}
    if meta.get("contributors"):
        out["contributors"] = [{k: v for k, v in c.items() if v} for c in meta["contributors"]]
    if meta.get("data_license") or meta.get("media_license"):
        out["licenses"] = [{"name": meta.get("data_license") or "CC-BY-4.0", "scope": "data"},
                           {"name": meta.get("media_license") or "CC-BY-NC-4.0", "scope": "media"}]
    if meta.get("citation"):
        out["bibliographicCitation"] = meta["citation"]
    if meta.get("keywords"):
        out["keywords"] = list(meta["keywords"])
    return out
