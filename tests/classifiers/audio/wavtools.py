"""Helpers for audio tests: write WAVs with soundfile, then add RIFF chunks by hand."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import soundfile


def tone(freq: float, seconds: float, rate: int, amp: float = 0.3) -> np.ndarray:
    """A sine tone, float32."""
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def noise(seconds: float, rate: int, amp: float = 0.01, seed: int = 0) -> np.ndarray:
    """Deterministic white noise, float32."""
    return (amp * np.random.default_rng(seed).standard_normal(int(seconds * rate))).astype(np.float32)


def chunk(cid: bytes, body: bytes) -> bytes:
    """One RIFF chunk, word-aligned."""
    pad = b"\x00" if len(body) % 2 else b""
    return cid + struct.pack("<I", len(body)) + body + pad


def info_list(**subchunks: str) -> bytes:
    """A LIST/INFO chunk, e.g. ``info_list(ICMT="Recorded at ...", IART="AudioMoth ...")``."""
    body = b"INFO" + b"".join(chunk(k.encode(), v.encode() + b"\x00") for k, v in subchunks.items())
    return chunk(b"LIST", body)


def guano_chunk(fields: dict) -> bytes:
    """A GUANO 'guan' chunk."""
    text = "GUANO|Version: 1.0\n" + "".join(f"{k}: {v}\n" for k, v in fields.items())
    return chunk(b"guan", text.encode("utf-8"))


def wav_bytes(samples: np.ndarray, rate: int, subtype: str = "PCM_16", before_data: bytes = b"",
              after_data: bytes = b"") -> bytes:
    """A WAV file's bytes with extra chunks inserted before the data chunk and/or appended."""
    buf = io.BytesIO()
    soundfile.write(buf, samples, rate, subtype=subtype, format="WAV")
    raw = buf.getvalue()
    data_at = raw.index(b"data", 12)
    body = raw[12:data_at] + before_data + raw[data_at:] + after_data
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


def write_wav(path: Path, samples: np.ndarray, rate: int, **kw) -> Path:
    """Write :func:`wav_bytes` to ``path``."""
    path.write_bytes(wav_bytes(samples, rate, **kw))
    return path
