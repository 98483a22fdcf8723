"""``saola models``, ``saola detect``, ``saola export megadetector``, ``saola import megadetector``."""
from __future__ import annotations

from pathlib import Path

import click

from ..cli.common import fail, get_app, run_job_with_progress, session_for


# ---- models -------------------------------------------------------------------------------
@click.group("models")
def models_group():
    """Detector and species-classifier model files (checksummed)."""


@models_group.command("add")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="Name jobs and settings use, e.g. md_v5a.")
@click.option("--kind", type=click.Choice(["detector", "classifier", "audio_classifier"]), default="detector",
              show_default=True, help="audio_classifier: an ONNX model over mel-spectrogram windows "
              "(--config with sample_rate, window_s, hop_s, n_mels, layout).")
@click.option("--version", default=None, help="Version recorded with every detection (default: checksum prefix).")
@click.option("--labels", "labels_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Text file of class labels, one per line (species classifiers).")
@click.option("--config", "config_json", default=None,
              help='JSON options, e.g. \'{"conf_threshold": 0.1}\' or a classifier\'s input size and layout.')
@click.option("--copy", "copy", is_flag=True, help="Copy the file into DATA_DIR/models instead of using it in place.")
@click.option("--replace", is_flag=True, help="Point an existing name at this file.")
def models_add(file, name, kind, version, labels_file, config_json, copy, replace):
    """Register a model FILE: records its SHA-256, size and version; prints the model id."""
    from .registry import add_model, parse_config

    app = get_app()
    try:
        config = parse_config(config_json)
        with session_for(app) as s:
            row = add_model(s, file, name, kind=kind, version=version, config=config, labels_file=labels_file,
                            copy_to=Path(app.config["DATA_DIR"]) / "models" if copy else None, replace=replace)
            click.echo(f"{row.name}@{row.version}  {row.kind}  sha256 {row.sha256}  {row.size_bytes} bytes  {row.file_path}")
            click.echo(row.id)
    except (ValueError, RuntimeError) as e:
        fail(str(e))


@models_group.command("list")
def models_list():
    """List registered models."""
    from sqlmodel import select

    from ..models import MLModel

    with session_for(get_app()) as s:
        for m in s.exec(select(MLModel).order_by(MLModel.kind, MLModel.name)):
            click.echo(f"{m.name}@{m.version}  {m.kind:10} {m.size_bytes:>12} bytes  {m.sha256[:16]}  {m.file_path}")


@models_group.command("verify")
@click.argument("name")
def models_verify(name):
    """Check that a registered model's file still matches its recorded SHA-256."""
    from .registry import ModelFileError, ModelNotFound, get_model, verify_file

    with session_for(get_app()) as s:
        try:
            row = get_model(s, name)
            verify_file(row)
        except (ModelNotFound, ModelFileError) as e:
            fail(str(e))
    click.echo(f"{name}: {row.file_path} matches sha256 {row.sha256}")


@models_group.command("fetch")
@click.argument("name")
@click.option("--sha256", default=None, help="Published SHA-256 of the file (required when Saola knows none).")
@click.option("--url", default=None, help="Download from this URL instead of the known one (mirrors).")
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to put the file in (default DATA_DIR/models).")
@click.option("--register/--no-register", default=True, show_default=True,
              help="Register the downloaded ONNX file under NAME.")
@click.option("--version", default=None, help="Version to register it with.")
def models_fetch(name, sha256, url, dest, register, version):
    """Download public weights NAME (when online), verify the checksum, and register them."""
    from classifiers import modelfiles

    from .registry import add_model

    app = get_app()
    dest = dest or Path(app.config["DATA_DIR"]) / "models"
    known = modelfiles.KNOWN_MODELS.get(name)
    if url is None and known is None:
        fail(f"unknown model {name!r}; known: {', '.join(sorted(modelfiles.KNOWN_MODELS))} (or give --url)")
    src = url or known.url
    fmt = "onnx" if url and url.lower().endswith(".onnx") else (known.format if known else "onnx")
    filename = src.rsplit("/", 1)[-1] or f"{name}.onnx"
    with click.progressbar(length=0, label=f"downloading {filename}") as bar:
        def progress(done, total):
            if total and bar.length != total:
                bar.length = total
            bar.update(done - bar.pos)

        try:
            got = modelfiles.fetch(src, dest / filename, sha256 or (known.sha256 if known else None),
                                   progress=progress)
        except (modelfiles.DownloadError, modelfiles.ChecksumMismatch, ValueError) as e:
            fail(str(e))
    click.echo(f"{got.path}  sha256 {got.sha256}  {got.size} bytes (checksum verified)")
    if fmt != "onnx":
        click.echo(f"{name} is a {fmt} file: export it to ONNX, then `saola models add FILE --name ...`")
        return
    if register:
        try:
            with session_for(app) as s:
                row = add_model(s, got.path, name, version=version)
                click.echo(row.id)
        except (ValueError, RuntimeError) as e:
            fail(str(e))


# ---- detect -------------------------------------------------------------------------------
@click.command("detect")
@click.option("--deployment", "deployment_id", default=None, help="Images of this deployment.")
@click.option("--program", "program_id", default=None, help="Images of every deployment of this program.")
@click.option("--all", "all_", is_flag=True, help="Every image not yet processed by the model.")
@click.option("--media", "media_ids", multiple=True, help="These media ids (repeatable).")
@click.option("--model", default=None, help="Registered detector name (default SAOLA_DETECTOR_MODEL).")
@click.option("--force", is_flag=True, help="Also reprocess images that already have results of this model.")
@click.option("--no-classify", is_flag=True, help="Skip the species classifier even if one is configured.")
@click.option("--batch-size", type=click.IntRange(1, 256), default=None, help="Images per model call.")
@click.option("--video-every-s", type=click.FloatRange(0, 3600, min_open=True), default=None,
              help="Videos: look at one frame every this many seconds (default: the program's "
                   "video_every_s / video_frames_per_s settings, else SAOLA_VIDEO_EVERY_S).")
@click.option("--video-frames-per-s", type=click.FloatRange(0, 3600, min_open=True), default=None,
              help="Videos: look at this many frames a second instead.")
@click.option("--no-videos", is_flag=True, help="Leave videos out (photos only).")
@click.option("--queue-only", is_flag=True, help="Only queue the job (a worker runs it); prints its id.")
def detect_cmd(deployment_id, program_id, all_, media_ids, model, force, no_classify, batch_size,
               video_every_s, video_frames_per_s, no_videos, queue_only):
    """Run the detector (MegaDetector) over photos and the sampled frames of videos; store the detections."""
    from ..jobs import dispatch, enqueue
    from . import service
    from .registry import ModelNotFound, get_model

    chosen = [x for x in (deployment_id, program_id, all_ or None, media_ids or None) if x]
    if len(chosen) != 1:
        fail("say which images: exactly one of --deployment, --program, --all or --media")
    app = get_app()
    model = model or app.config["DETECTOR_MODEL"]
    if not model:
        fail("no detector: give --model NAME or set SAOLA_DETECTOR_MODEL (see `saola models list`)")
    params = {"model": model, "force": force, "classify": not no_classify}
    if deployment_id:
        params["deployment_id"] = deployment_id
    elif program_id:
        params["program_id"] = program_id
    elif all_:
        params["all"] = True
    else:
        params["media_ids"] = list(media_ids)
    if batch_size:
        params["batch_size"] = batch_size
    if video_every_s is not None and video_frames_per_s is not None:
        fail("give --video-every-s or --video-frames-per-s, not both")
    if video_every_s is not None:
        params["video_every_s"] = video_every_s
    if video_frames_per_s is not None:
        params["video_frames_per_s"] = video_frames_per_s
    if no_videos:
        params["videos"] = False
    with session_for(app) as s:
        try:
            get_model(s, model, "detector")
            area_id = service.area_of_params(s, params)
        except (ModelNotFound, service.SelectionError) as e:
            fail(str(e))
        job = enqueue(s, "detect", params, area_id=area_id, commit=False)
        job_id = job.id
    dispatch(job_id)  # Celery: publish; the polling workers find it in the table anyway
    if queue_only:
        click.echo(job_id)
        return
    out = run_job_with_progress(app, job_id, "detecting")
    _report(out)
    classify_id = out["result"].get("classify_job")
    if classify_id and out["status"] == "done":
        _report(run_job_with_progress(app, classify_id, "classifying species"))
    click.echo(job_id)
    if out["status"] != "done":
        fail(f"detection job {job_id} {out['status']}: {out['error']}")


def _report(out: dict) -> None:
    r = out["result"]
    for f in out["failures"][:20]:
        click.echo(f"  failed: {f.get('error')}", err=True)
    if len(out["failures"]) > 20:
        click.echo(f"  ... and {len(out['failures']) - 20} more failures", err=True)
    if r:
        click.echo(", ".join(f"{k} {v}" for k, v in r.items() if not isinstance(v, (list, dict))))


# ---- MegaDetector JSON ---------------------------------------------------------------------
@click.command("megadetector")
@click.option("--deployment", "deployment_id", required=True, help="Deployment id.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="MegaDetector batch-output JSON file to write.")
@click.option("--model", default=None, help="Model name or name@version (default: the deployment's main model).")
def export_megadetector(deployment_id, out, model):
    """Write a deployment's detections as MegaDetector batch-output JSON (Timelapse, AddaxAI)."""
    from .mdjson import ExportError, export_deployment

    with session_for(get_app()) as s:
        try:
            rep = export_deployment(s, deployment_id, out, model)
        except (ExportError, ValueError) as e:
            fail(str(e))
    videos = f", {rep['videos']} videos ({rep['frames']} frames)" if rep["videos"] else ""
    click.echo(f"{rep['file']}: {rep['images']} images{videos}, {rep['detections']} detections of {rep['model']}"
               + (f" ({rep['not_processed']} media not processed by it)" if rep["not_processed"] else ""))


@click.command("megadetector")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--deployment", "deployment_id", default=None,
              help="Deployment whose images the file describes (needed unless entries carry sha256).")
@click.option("--model", default=None, help="Model name@version to record (default: the file's info.detector).")
def import_megadetector(file, deployment_id, model):
    """Import MegaDetector batch-output JSON (e.g. from the official MegaDetector on a GPU machine)."""
    from classifiers.md_json import MDJsonError

    from .mdjson import import_file

    app = get_app()
    try:
        rep = import_file(lambda: session_for(app), file, deployment_id, model)
    except (MDJsonError, ValueError) as e:
        fail(str(e))
    for f in rep.unmatched[:20]:
        click.echo(f"  no image or video frame in the deployment matches {f}", err=True)
    for f in rep.ambiguous[:20]:
        click.echo(f"  {f} matches several images; skipped", err=True)
    videos = f", {rep.videos} videos ({rep.frames} frames)" if rep.videos else ""
    click.echo(f"{file}: {rep.matched - rep.videos} images{videos}, {rep.detections} detections recorded as {rep.model}; "
               f"{len(rep.unmatched)} unmatched, {len(rep.ambiguous)} ambiguous, {rep.failed_in_file} failed in the file"
               + (f", {rep.skipped_reviewed} kept (already reviewed)" if rep.skipped_reviewed else ""))


def register(main: click.Group) -> None:
    """Add this package's commands to ``saola``."""
    main.add_command(models_group)
    main.add_command(detect_cmd)
    main.commands["export"].add_command(export_megadetector, "megadetector")
    main.commands["import"].add_command(import_megadetector, "megadetector")
