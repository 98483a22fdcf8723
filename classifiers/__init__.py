"""Saola classifiers: turn media into machine detections.

No Flask and no database here: plain classes and functions over files and
arrays, so the server's workers, the CLI and notebooks all use the same code.
Nothing is imported or downloaded at package import; import the submodule
you need.

Images (this package's top level)
---------------------------------
``classifiers.megadetector``
    ``Detector(model_path, *, sha256=None, providers=None, layout=None,
    image_size=None, stride=None, class_names=None, conf_threshold=0.005,
    iou_threshold=0.45, max_detections=300, intra_op_threads=None,
    allow_spinning=False, draft_decode=True)`` loads an ONNX MegaDetector
    (YOLOv5 ``[B,N,5+nc]``, Ultralytics ``[B,4+nc,N]`` or end-to-end
    ``[B,K,6]`` outputs, detected from the graph).  JPEGs are decoded at the
    smallest DCT scale that covers the model's size (``draft_decode``), the
    photo's part of the decoded pixels resized onto the full image's letterbox,
    so boxes map back to the original exactly.

    - ``detector.detect(path_or_bytes_or_PIL, name=None) -> ImageResult``
    - ``detector.detect_batch(sources, names=None) -> list[ImageResult]``
    - ``detector.detection_categories`` -> ``{"1": "animal", "2": "person", "3": "vehicle"}``
    - ``detector.detector_metadata()`` -> the ``info.detector_metadata`` block
    - ``ImageResult(file, detections, failure, width, height)``; ``detections``
      is a list of ``Detection(category, conf, bbox)`` with ``bbox`` normalised
      ``[x_min, y_min, width, height]`` (Camtrap DP's bboxX/Y/Width/Height),
      or None with ``failure`` set ("Failure image access: ..." /
      "Failure inference: ...") for that image only.
    - Errors at load time: ``ModelError`` (bad graph, wrong input shape),
      ``classifiers.modelfiles.ChecksumMismatch``, ``ProviderUnavailable``
      (``providers="cuda"`` without onnxruntime-gpu).

``classifiers.pipeline``
    ``detect_paths(detector, paths, *, names=None, batch_size=None,
    loader_threads=None)`` yields ``ImageResult`` in input order while loader
    threads decode/letterbox ahead and inference runs in its own thread; a
    job worker stores each result as it arrives (and records progress).
    ``batch_size`` defaults to ``detector.batch_size`` (a fixed batch axis's
    size, with the last batch padded; 8 on a GPU; else 1).

``classifiers.md_json``
    ``write_results(path, results, *, detector=model_file_name,
    detection_categories=detector.detection_categories,
    detector_metadata=detector.detector_metadata(), classification_categories=None)``
    and ``read_results(path) -> MDBatch(images, detection_categories,
    classification_categories, info)``: MegaDetector batch output format 1.6
    (Timelapse, AddaxAI).  ``MDJsonError`` names file, image and field.

``classifiers.species``
    ``SpeciesClassifier(model_path, labels, *, input_size=None, layout=None,
    mean=..., std=..., margin=0.05)`` with
    ``classify_detections(image, detections) -> [ {label: prob} | None ]`` and
    ``top_classifications(scores)`` for MegaDetector ``classifications``;
    ``Taxonomy({label: [genus, family, order, class]})``,
    ``rollup(scores, taxonomy, threshold, allowed=None)``,
    ``geofence(scores, taxonomy, allowed)`` and
    ``ensemble(detections, crop_scores, taxonomy, policy=EnsemblePolicy(),
    allowed=area_species) -> EnsembleResult(image, detections)``.

``classifiers.privacy``
    ``blur_detections(image, detections, categories=("2", "3"), method="gaussian")``
    returns a blurred copy for viewers and public exports.

``classifiers.modelfiles``
    ``describe_file(path) -> ModelFile(path, sha256, size)`` for ``saola models add``;
    ``fetch(url, dest, sha256, progress=cb)`` and ``fetch_known(name, dir, sha256=...)``
    for ``saola models fetch`` (verified, atomic); ``KNOWN_MODELS`` lists public
    MegaDetector weights (checksums None where not confirmed: the caller must
    pass the published one).

Sound
-----
``classifiers.audio`` (librosa analysis, BirdNET): see that package.

Typical worker loop::

    from classifiers.megadetector import Detector
    from classifiers.pipeline import detect_paths
    det = Detector(model.path, sha256=model.sha256)
    for res in detect_paths(det, [m.path for m in media], names=[m.id for m in media]):
        save(res)            # detections, or res.failure for that media only
"""
