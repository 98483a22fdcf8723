"""``saola serve``, ``saola worker``, ``saola jobs`` and ``saola demo``."""
from __future__ import annotations

import json

import click

from .common import get_app, session_for


def register(main: click.Group) -> None:
    """Add the serving, worker, job and demo commands to ``saola``."""
    for cmd in (serve, worker_cmd, jobs_group, demo):
        main.add_command(cmd)


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on (default SAOLA_HOST).")
@click.option("--port", type=int, default=None, help="Port (default SAOLA_PORT).")
@click.option("--debug", is_flag=True, help="Flask's reloading debug server instead of waitress (development only).")
def serve(host, port, debug):
    """Serve the web UI and the API (waitress, a production WSGI server)."""
    from .. import create_app

    app = create_app()
    host = host or app.config["HOST"]
    port = port or app.config["PORT"]
    if app.config["ROLE"] not in ("area", "hub"):
        raise click.ClickException(f"SAOLA_ROLE must be 'area' or 'hub', not {app.config['ROLE']!r}")
    from ..hub.jobs import start_schedule

    start_schedule(dict(app.config))  # periodic publishing to the hub (SAOLA_HUB_PUBLISH_MINUTES)
    click.echo(f"Saola on http://{host}:{port}/  (API: /api/v1/openapi.json)")
    if debug:
        app.run(host=host, port=port, debug=True, use_reloader=False)
        return
    import waitress

    # Request bodies up to 8 MiB (a photo upload chunk) stay in memory instead of a spool file.
    # An empty ident: no Server header telling probes which software answers.
    waitress.serve(app, host=host, port=port, threads=app.config["THREADS"], ident="",
                   max_request_body_size=app.config["MAX_CONTENT_LENGTH"], inbuf_overflow=8 * 1024 * 1024 + 65536)


@click.command("worker")
@click.option("--threads", default=1, show_default=True, help="Jobs run at once.")
@click.option("--once", is_flag=True, help="Run what is queued, then exit.")
@click.option("--celery", "use_celery", is_flag=True, help="Run a Celery worker on SAOLA_BROKER_URL instead.")
def worker_cmd(threads, once, use_celery):
    """Run background jobs (detection, audio analysis...) from the database queue."""
    if use_celery:
        from ..jobs.celery_app import celery

        celery.worker_main(["worker", "--loglevel=INFO", "--concurrency", str(threads), "--prefetch-multiplier=1",
                            "-Q", "saola", "--without-gossip", "--without-mingle", "--pool=prefork"])
        return
    app = get_app()
    from ..jobs import core
    from ..jobs.worker import PollingWorker

    if once:
        core.reap(app.config["DATABASE_URL"])
        n = core.drain(app.config)
        click.echo(f"ran {n} job(s)")
        return
    click.echo("worker running; Ctrl-C stops it")
    w = PollingWorker(app.config, threads=threads)
    if threads == 1:
        try:
            w.run_forever()
        except KeyboardInterrupt:
            pass
    else:
        w.start()
        try:
            import time

            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            w.stop()


@click.group("jobs")
def jobs_group():
    """Background jobs."""


@jobs_group.command("list")
@click.option("--status", default=None)
def jobs_list(status):
    """List recent jobs."""
    from sqlmodel import select

    from ..models import Job

    with session_for(get_app()) as s:
        stmt = select(Job).order_by(Job.created_at.desc()).limit(50)
        if status:
            stmt = stmt.where(Job.status == status)
        for j in s.exec(stmt):
            click.echo(f"{j.id}  {j.kind:18} {j.status:9} {j.progress_done}/{j.progress_total} {j.error or ''}")


@click.command("demo")
@click.option("--serve", "then_serve", is_flag=True, help="Serve the web UI and API afterwards.")
@click.option("--port", type=int, default=None)
@click.option("--detector", type=click.Path(exists=True, dir_okay=False), default=None,
              help="An ONNX MegaDetector file to run on the sample photos (none ships with Saola).")
def demo(then_serve, port, detector):
    """Set up the embedded default with the project's own sample media, run its jobs, and (with --serve) serve it."""
    from ..demo import run_demo

    info = run_demo(echo=click.echo, detector=detector)
    click.echo(json.dumps(info, indent=2, ensure_ascii=False))
    if then_serve:
        ctx = click.get_current_context()
        ctx.invoke(serve, host=None, port=port, debug=False)
