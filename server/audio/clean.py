"""Copies of recordings without their metadata, for people who may not see where they were made.

A recorder writes where and by which unit it recorded into the file: GUANO
(``guan`` chunk, with ``Loc Position``), AudioMoth's header comment, ``LIST/INFO``,
``bext``, iXML, FLAC Vorbis comments. A recorder's position is its station's,
so the policy (server/auth/policy.py) hands viewers this copy instead of the
original, as it hands them re-encoded photos without EXIF.

WAV keeps its samples untouched (only the ``fmt ``, ``fact`` and ``data`` chunks
are copied, streamed block by block); other formats are decoded and written
again as FLAC by libsndfile in blocks, so memory stays flat for hour-long files.
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

#: The only chunks a clean WAV keeps: the format, the sample count of compressed formats, the samples.
KEEP_CHUNKS = (b"fmt ", b"fact", b"data")
BLOCK = 1 << 20


class CleanError(ValueError):
    """The recording cannot be copied without its metadata (damaged or unknown layout)."""


def clean_key(sha256: str, media_type: str | None) -> tuple[str, str]:
    """(derivative key, MIME type) of the clean copy of a recording."""
    if _is_wav(media_type):
        return f"audio-clean/{sha256[:2]}/{sha256}.wav", "audio/wav"
    return f"audio-clean/{sha256[:2]}/{sha256}.flac", "audio/flac"


def _is_wav(media_type: str | None) -> bool:
    return (media_type or "").lower() in ("audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave")


def _copy(src: BinaryIO, dst: BinaryIO, n: int) -> None:
    while n > 0:
        block = src.read(min(BLOCK, n))
        if not block:
            raise CleanError("the WAV file ends inside a chunk")
        dst.write(block)
        n -= len(block)


def strip_wav(src: Path, dst: Path) -> None:
    """Write ``dst``: the RIFF/WAVE file ``src`` with only its fmt, fact and data chunks."""
    with open(src, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise CleanError("not a RIFF/WAVE file")
        chunks: list[tuple[bytes, int, int]] = []  # (id, offset of the body, size)
        while True:
            hdr = f.read(8)
            if len(hdr) < 8:
                break
            cid, size = hdr[:4], struct.unpack("<I", hdr[4:])[0]
            body = f.tell()
            chunks.append((cid, body, size))
            f.seek(body + size + (size & 1))
        kept = [c for c in chunks if c[0] in KEEP_CHUNKS]
        if not any(c[0] == b"fmt " for c in kept) or not any(c[0] == b"data" for c in kept):
            raise CleanError("the WAV file has no fmt or data chunk")
        total = 4 + sum(8 + size + (size & 1) for _c, _b, size in kept)
        with open(dst, "wb") as out:
            out.write(b"RIFF" + struct.pack("<I", total) + b"WAVE")
            for cid, body, size in kept:
                out.write(cid + struct.pack("<I", size))
                f.seek(body)
                _copy(f, out, size)
                if size & 1:
                    out.write(b"\0")


def reencode(src: Path, dst: Path) -> None:
    """Write ``dst``: the samples of ``src`` as FLAC with no metadata of the original."""
    import soundfile as sf

    try:
        with sf.SoundFile(str(src)) as inp:
            subtype = "PCM_24" if inp.subtype in ("PCM_24", "PCM_32", "FLOAT", "DOUBLE") else "PCM_16"
            with sf.SoundFile(str(dst), "w", samplerate=inp.samplerate, channels=inp.channels,
                              format="FLAC", subtype=subtype) as out:
                for block in inp.blocks(blocksize=BLOCK // 8, dtype="int32" if subtype == "PCM_24" else "int16"):
                    out.write(block)
    except (RuntimeError, sf.LibsndfileError) as e:
        raise CleanError(f"cannot decode the recording: {e}") from None


def clean_copy(src: Path, media_type: str | None, dst: Path) -> None:
    """Write a metadata-free copy of the recording ``src`` to ``dst`` (see the module docstring)."""
    if _is_wav(media_type):
        try:
            strip_wav(src, dst)
            return
        except CleanError:
            pass  # RF64 or a damaged header: fall back to decoding what libsndfile can read
    reencode(src, dst)
