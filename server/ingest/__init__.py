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
from .pipeline import ingest_path, ingest_sources  # noqa: F401
from .registry import MediaInfo, register_reader  # noqa: F401
from .report import IngestReport  # noqa: F401
