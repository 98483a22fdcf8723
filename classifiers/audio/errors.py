"""Exceptions for sound-trap recordings: one class per way a card's file can be bad.

Every message names the file, so an ingest of thousands of files can report the
few bad ones and carry on with the rest.
"""

from __future__ import annotations


class AudioFileError(ValueError):
    """Base class: this file cannot be used as a sound-trap recording."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class NotAudioError(AudioFileError):
    """The file is not a WAV or FLAC recording at all (wrong magic bytes, unknown container)."""


class EmptyAudioError(AudioFileError):
    """Zero bytes, or a valid header with no sample frames."""


class CorruptAudioError(AudioFileError):
    """A WAV/FLAC header that cannot be parsed."""


class TruncatedAudioError(CorruptAudioError):
    """The header promises more sample data than the file holds (card pulled mid-write)."""


class UnsupportedSampleFormatError(AudioFileError):
    """A container we read, but a sample encoding we do not analyse (e.g. u-law, ADPCM)."""
