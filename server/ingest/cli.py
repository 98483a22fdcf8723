"""``saola ingest``: a camera card (folder or zip) into the media store and database."""
from __future__ import annotations

import json
from pathlib import Path

import click

from ..cli.common import ProgressBar, fail, get_app


def register(main: click.Group) -> None:
    """Add ``saola ingest`` to the ``saola`` command."""
    main.add_command(ingest_cmd)


@click.command("ingest")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--deployment", "deployment_id", default=None,
              help="Deployment id all media go to. Without it, media are matched by camera serial and time "
                   "to deployment windows (unmatched media are kept and flagged).")
@click.option("--layout", type=click.Choice(["card", "station/species"]), default="card", show_default=True,
              help="'station/species': PATH/<station>/<species>/ folders name the station and the species "
                   "(creates locations, deployments and human observations).")
@click.option("--area", default=None, help="Protected area code or id (with --layout station/species).")
@click.option("--program", "program_name", default=None,
              help="Program name or id (with --layout station/species; created when new).")
@click.option("--workers", type=click.IntRange(0, 64), default=None,
              help="Worker processes for hashing, EXIF and thumbnails (default: one per CPU core; 0: none).")
@click.option("--report", "report_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the full report (every skipped file and flag) as JSON to this file.")
@click.option("--thumbnails", type=click.Choice(["background", "now"]), default="background", show_default=True,
              help="'background': the card is done when its originals are stored and indexed; thumbnails are "
                   "made by a background job (the server's worker or `saola worker`), the pages show a "
                   "placeholder meanwhile. 'now': make them in this command before it ends.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def ingest_cmd(path, deployment_id, layout, area, program_name, workers, report_file, thumbnails, quiet):
    """Ingest a camera card: a folder (recursive, e.g. DCIM/100RECNX/) or a zip of one.

    Photos (JPEG) and videos (MP4/MOV/AVI) are stored once each (by SHA-256),
    with capture time (corrected with the deployment's time zone and clock
    offset), camera, serial and GPS from their metadata, thumbnails, and
    sequences. Re-running is safe: what is stored already is reported as
    duplicate, and a run that stopped half-way is completed.
    """
    if layout == "station/species":
        if deployment_id:
            fail("--deployment cannot be used with --layout station/species (stations name the deployments)")
        if not area or not program_name:
            fail("--layout station/species needs --area and --program")
    elif area or program_name:
        fail("--area and --program are only used with --layout station/species")
    early = None
    if layout == "card":
        # The workers start on the card now, before the imports and the database below (server/ingest/early.py):
        # they read, hash, describe and copy files meanwhile; nothing enters the store before the deployment
        # is known.
        from .. import settings
        from . import early as early_start

        try:
            early = early_start.start(path, workers, settings.resolve_paths(settings.load({"WORKER": "external"})))
        except ValueError:  # a bad setting: get_app below says which
            early = None
    try:
        from ..errors import SaolaError
        from .pipeline import ingest_path

        app = get_app(web=False)  # no API or pages: the command's start-up counts in every card
    except BaseException:
        if early is not None:
            early.close()
        raise
    bar = None if quiet else ProgressBar(path.name)
    try:
        if layout == "station/species":
            from .layout import ingest_layout

            result = ingest_layout(app, path, area, program_name, workers=workers, progress=bar)
            lines, data, fatal = result.summary_lines(), result.to_dict(), result.fatal
        else:
            rep = ingest_path(app, path, deployment_id=deployment_id, workers=workers, progress=bar, early=early)
            lines, data, fatal = rep.summary_lines(), rep.to_dict(), rep.fatal
    except SaolaError as e:
        fail(e.message)
    except OSError as e:
        fail(f"{path}: {e.strerror or e}")
    finally:
        if bar is not None:
            bar.close()
        if early is not None:  # closed by the ingest already, unless it never got there
            early.close()
    if thumbnails == "now" and data.get("derivative_jobs"):
        from ..jobs import run_job

        for job_id in data["derivative_jobs"]:
            run_job(job_id, app.config)
        lines.append(f"thumbnails made: {data.get('derivatives_pending', 0)}")
    for line in lines:
        click.echo(line)
    if report_file is not None:
        report_file.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        click.echo(f"report written to {report_file}")
    if fatal:
        fail(fatal)
