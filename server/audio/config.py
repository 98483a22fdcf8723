"""A program's sound-trap analysis settings (``Program.settings``; see :mod:`server.audio`)."""
from __future__ import annotations

from dataclasses import dataclass, field

from classifiers.audio import GIBBON_BAND, Band

DEFAULT_ALERT_THRESHOLD = 0.5
DEFAULT_BIRDNET_MIN_CONF = 0.25


class AudioSettingsError(ValueError):
    """A program's audio settings are malformed (the message names the program and the field)."""


@dataclass(frozen=True)
class AudioSettings:
    """What the analysis of one program's recordings uses."""

    bands: tuple[Band, ...] = (GIBBON_BAND,)
    birdnet: bool = True
    birdnet_min_conf: float = DEFAULT_BIRDNET_MIN_CONF
    alert_threshold: float = DEFAULT_ALERT_THRESHOLD
    classifiers: tuple[str, ...] = field(default_factory=tuple)


def _number(settings: dict, key: str, default: float, program: str) -> float:
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise AudioSettingsError(f"program {program!r}: settings.{key} must be a number from 0 to 1, got {value!r}")
    return float(value)


def audio_settings(settings: dict | None, program: str = "") -> AudioSettings:
    """Parse ``Program.settings``; :class:`AudioSettingsError` names a bad field."""
    settings = settings or {}
    bands = (GIBBON_BAND,)
    if "audio_bands" in settings:
        raw = settings["audio_bands"]
        if not isinstance(raw, list):
            raise AudioSettingsError(f"program {program!r}: settings.audio_bands must be a list of bands")
        try:
            bands = tuple(Band(**b) for b in raw)
        except (TypeError, ValueError) as e:
            raise AudioSettingsError(f"program {program!r}: settings.audio_bands: {e}") from None
    names = settings.get("audio_classifiers", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise AudioSettingsError(f"program {program!r}: settings.audio_classifiers must be a list of model names")
    birdnet = settings.get("birdnet", True)
    if not isinstance(birdnet, bool):
        raise AudioSettingsError(f"program {program!r}: settings.birdnet must be true or false")
    return AudioSettings(bands=bands, birdnet=birdnet,
                         birdnet_min_conf=_number(settings, "birdnet_min_conf", DEFAULT_BIRDNET_MIN_CONF, program),
                         alert_threshold=_number(settings, "alert_threshold", DEFAULT_ALERT_THRESHOLD, program),
                         classifiers=tuple(names))
