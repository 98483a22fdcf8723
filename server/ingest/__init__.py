"""Camera-trap ingestion: SD cards and uploads into deployments, sequences and thumbnails.

``saola ingest PATH --deployment ID`` (see :mod:`server.ingest.cli`) and the
upload API (:mod:`server.api.media`) both run :func:`ingest_path` /
:func:`ingest_sources`: scan (:mod:`.sources`), do the per-file work in a
process pool (:mod:`.process`: hash, store the original, read metadata through
the reader registry of :mod:`.registry`, make derivatives), then write media
rows in short batches and recompute sequences (:mod:`.pipeline`,
:mod:`.sequences`). Jobs ``retime`` and ``resequence`` (:mod:`.jobs`) redo the
time correction and the sequences after a deployment or program changes.
"""
from __future__ import annotations

from typing import Any

# The public names, loaded on first use: importing ``server.ingest.cli`` (for ``saola --help``)
# or ``server.ingest.registry`` (in ingest worker processes) should not import the pipeline.
_EXPORTS = {"ingest_path": "pipeline", "ingest_sources": "pipeline", "MediaInfo": "registry",
            "register_reader": "registry", "IngestReport": "report"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
