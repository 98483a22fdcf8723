"""One call that a server job makes per recording: metadata, indices, events, BirdNET, custom models.

The file is read once, in blocks; every analysis consumes the same blocks, so a
24-hour recording needs the memory of one block plus the models.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable, Sequence

from .analysis import GIBBON_BAND, AcousticEvent, Band, IndexParams, MinuteIndices, SoundscapeAnalyser
from .metadata import DEFAULT_TIMEZONE, RecordingMetadata, read_metadata
from .stream import iter_blocks

#: ``progress(done, total)`` in whole seconds of audio read (ints, as the job system stores them).
ProgressCallback = Callable[[int, int], None]


@dataclass
class RecordingAnalysis:
    """Everything :func:`analyse_recording` found in one recording."""

    metadata: RecordingMetadata
    indices: list[MinuteIndices] = field(default_factory=list)
    index_params: IndexParams = field(default_factory=IndexParams)
    events: list[AcousticEvent] = field(default_factory=list)
    birdnet: list = field(default_factory=list)  # BirdNETDetection
    birdnet_model: str | None = None
    birdnet_week: int | None = None
    alerts: list = field(default_factory=list)  # birdnet.Alert
    custom: dict[str, list] = field(default_factory=dict)  # model id -> CustomDetection list

    def as_dict(self) -> dict:
        """JSON-able summary (what a job stores as its result)."""
        return {
            "metadata": self.metadata.as_dict(),
            "index_params": self.index_params.as_dict(),
            "indices": [m.as_dict() for m in self.indices],
            "events": [e.as_dict() for e in self.events],
            "birdnet_model": self.birdnet_model,
            "birdnet_week": self.birdnet_week,
            "birdnet": [d.as_dict() for d in self.birdnet],
            "alerts": [a.__dict__ for a in self.alerts],
            "custom": {k: [d.as_dict() for d in v] for k, v in self.custom.items()},
        }


def analyse_recording(path, *, timezone: str = DEFAULT_TIMEZONE, indices: bool = True,
                      index_params: IndexParams = IndexParams(), bands: Sequence[Band] = (GIBBON_BAND,),
                      birdnet=None, lat: float | None = None, lon: float | None = None,
                      week: int | None = None, birdnet_min_conf: float = 0.25, birdnet_overlap: float = 0.0,
                      alert_threshold: float | None = None, custom: Sequence = (),
                      progress: ProgressCallback | None = None, block_s: float = 60.0) -> RecordingAnalysis:
    """Analyse one WAV/FLAC sound-trap recording in a single streaming pass.

    * ``timezone``: the deployment's IANA zone (for file-name times).
    * ``indices`` / ``index_params`` / ``bands``: acoustic indices per block and band
      events (pass ``bands=()`` for no event detection).
    * ``birdnet``: a :class:`~classifiers.audio.birdnet.BirdNET` instance (reuse one
      per worker: loading costs ~0.5 s), ``True`` to load one, or None to skip.
      ``lat``/``lon`` turn on the location filter; ``week`` (1-48) defaults to
      the week of the recording's local start date (-1, whole year, if unknown).
    * ``alert_threshold``: confidence for Gun/Engine/Power tools alerts (default 0.5).
    * ``custom``: :class:`~classifiers.audio.custom.CustomClassifier` instances.
    * ``progress(done_s, total_s)``: called after each block, whole seconds.

    Raises :class:`~classifiers.audio.errors.AudioFileError` subclasses (message
    names the file) for empty, corrupt, truncated or unsupported files.
    """
    meta = read_metadata(path, timezone)
    result = RecordingAnalysis(metadata=meta, index_params=index_params)
    total = int(round(meta.duration_s))

    soundscape = SoundscapeAnalyser(index_params, bands, indices=indices) if (indices or bands) else None
    bn_run = None
    if birdnet is not None and birdnet is not False:
        from .birdnet import BirdNET, DEFAULT_ALERT_THRESHOLD, alerts_from_detections, week_48

        model = BirdNET() if birdnet is True else birdnet
        if week is None:
            week = -1
            if meta.start_utc is not None:
                local = meta.start_utc + dt.timedelta(minutes=meta.utc_offset_min or 0)
                week = week_48(local)
        result.birdnet_model = model.model_id
        result.birdnet_week = week
        bn_run = model.run(lat=lat, lon=lon, week=week, min_conf=birdnet_min_conf, overlap=birdnet_overlap)
    custom_runs = [(c.model_id, c.run()) for c in custom]

    for first, block, rate in iter_blocks(path, block_s):
        if soundscape is not None:
            soundscape.feed(block, rate, first / rate)
        if bn_run is not None:
            bn_run.feed(block, rate)
        for _, run in custom_runs:
            run.feed(block, rate)
        if progress:
            progress(min(total, int((first + len(block)) / rate)), total)

    if soundscape is not None:
        found = soundscape.finish()
        result.indices = found.indices
        result.events = found.events
    if bn_run is not None:
        result.birdnet = bn_run.finish()
        threshold = DEFAULT_ALERT_THRESHOLD if alert_threshold is None else alert_threshold
        result.alerts = alerts_from_detections(result.birdnet, threshold)
    for model_id, run in custom_runs:
        result.custom[model_id] = run.finish()
    return result
