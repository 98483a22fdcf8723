"""``saola alerts digest``, ``saola export detections`` and ``saola audio analyse``."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from ..cli.common import area_by_code, fail, get_app, session_for


def register(main: click.Group) -> None:
    """Add the sound-trap commands to ``saola``."""
    main.add_command(alerts_group)
    main.add_command(audio_group)
    main.commands["export"].add_command(export_detections_cmd, "detections")


@click.group("alerts")
def alerts_group():
    """Anti-poaching alerts heard by sound traps (gunshot, engine, power tools)."""


@alerts_group.command("digest")
@click.option("--area", required=True, help="Protected area code or id.")
@click.option("--date", "day", default=None, help="Day YYYY-MM-DD (Vietnam time; default: today).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the digest to this file (UTF-8).")
def alerts_digest(area, day, out_file):
    """Print the day's alerts of an area grouped by deployment, in Vietnamese and English."""
    from ..timeutil import zone
    from .digest import DIGEST_ZONE, day_alerts, render

    if day:
        try:
            date = dt.date.fromisoformat(day)
        except ValueError:
            fail(f"--date must be YYYY-MM-DD, got {day!r}")
    else:
        date = dt.datetime.now(zone(DIGEST_ZONE)).date()
    with session_for(get_app()) as s:
        a = area_by_code(s, area)
        text = render(a, date, day_alerts(s, a, date))
    click.echo(text, nl=False)
    if out_file is not None:
        try:
            out_file.write_text(text, encoding="utf-8")
        except OSError as e:
            fail(f"cannot write {out_file}: {e.strerror or e}")
        click.echo(f"digest written to {out_file}")


@click.command("detections")
@click.option("--deployment", "deployment_id", required=True, help="Deployment id.")
@click.option("--format", "fmt", type=click.Choice(["csv"]), default="csv", show_default=True)
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")
def export_detections_cmd(deployment_id, fmt, out_file):
    """Machine detections of a deployment, images and sound together, as CSV."""
    from ..models import Deployment
    from .export import write_csv

    with session_for(get_app()) as s:
        if s.get(Deployment, deployment_id) is None:
            fail(f"no deployment with id {deployment_id!r}")
        if out_file is None:
            write_csv(s, deployment_id, sys.stdout)
            return
        tmp = out_file.with_name(out_file.name + ".part")
        try:
            with tmp.open("w", encoding="utf-8", newline="") as fh:
                n = write_csv(s, deployment_id, fh)
            tmp.replace(out_file)
        except OSError as e:
            fail(f"cannot write {out_file}: {e.strerror or e}")
    click.echo(f"{n} detections written to {out_file}", err=True)


@click.group("audio")
def audio_group():
    """Sound-trap analysis."""


@audio_group.command("analyse")
@click.option("--deployment", "deployment_id", required=True, help="Deployment id.")
@click.option("--wait", is_flag=True, help="Run the job here now instead of leaving it to the workers.")
def audio_analyse(deployment_id, wait):
    """Queue (or run) the analysis of a deployment's recordings; prints the job id."""
    from ..jobs import enqueue
    from ..jobs.core import run_job
    from ..models import Deployment, Job, Program
    from . import (
        JOB_KIND,
        jobs,  # noqa: F401
    )

    app = get_app()
    with session_for(app) as s:
        dep = s.get(Deployment, deployment_id)
        if dep is None:
            fail(f"no deployment with id {deployment_id!r}")
        job = enqueue(s, JOB_KIND, {"deployment_id": dep.id}, area_id=s.get(Program, dep.program_id).area_id)
        job_id = job.id
    if wait:
        status = run_job(job_id, app.config)
        with session_for(app) as s:
            j = s.get(Job, job_id)
            click.echo(f"{status}: {j.result or j.error}")
            for f in j.failures or []:
                click.echo(f"  failed: {f['error']}")
    click.echo(job_id)
