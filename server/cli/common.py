"""What every ``saola`` command module shares: the app and database sessions, clear failures,
protected-area lookup, audited creation, time parsing and progress bars.

Feature command modules (``server/<feature>/cli.py``) import from here, never from the
command root (:mod:`server.cli.root`), so the root can import them without a cycle. Heavy
imports (Flask app, SQLModel, tqdm) happen inside the functions: ``saola --help`` imports
this module and should stay fast.
"""
from __future__ import annotations

import sys
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:  # pragma: no cover
    from flask import Flask
    from sqlmodel import Session


def get_app(web: bool = True) -> Flask:
    """The Flask app for CLI work: no in-process worker threads (commands drain jobs themselves).

    Built once per command line and kept on the root click context. ``web=False``: without the
    API and pages (see :func:`server.create_app`), for commands that need neither.
    """
    from .. import create_app, settings

    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx else None
    if obj and "app" in obj:
        return obj["app"]
    cfg = {"WORKER": "external"} if settings.load()["WORKER"] == "inprocess" else {}
    app = create_app(cfg, web=web)
    if ctx:
        ctx.find_root().obj = {"app": app}
    return app


def fail(message: str) -> NoReturn:
    """Stop the command with ``message`` on standard error and exit status 1."""
    raise click.ClickException(message)


def session_for(app: Flask):
    """A database session (context manager) that commits when the block ends without error."""
    from ..db import session_scope

    return session_scope(app.config["DATABASE_URL"])


def read_session(app: Flask):
    """A read-only session for long reads (exports, analyses, reports): it never takes the write lock."""
    from ..db import session_scope

    return session_scope(app.config["DATABASE_URL"], read_only=True)


def area_by_code(s: Session, code_or_id: str):
    """The protected area with this code or id, or a clear failure naming the listing command."""
    from sqlmodel import or_, select

    from ..models import ProtectedArea

    a = s.exec(select(ProtectedArea).where(or_(ProtectedArea.code == code_or_id,
                                                ProtectedArea.id == code_or_id))).first()
    if a is None:
        fail(f"no protected area {code_or_id!r} (see `saola areas list`)")
    return a


def create_audited(s: Session, row, area_id: str | None):
    """Add ``row`` and its audit entry (``create``) in the session's transaction; returns the row."""
    from .. import audit

    s.add(row)
    s.flush()
    audit.record(s, "create", row.__tablename__, row.id, area_id=area_id, after=audit.snapshot(row))
    return row


def parse_time(value: str | None, what: str) -> datetime | None:
    """An ISO date or date-time from option ``what``; None stays None; anything else fails clearly."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        fail(f"{what}: {value!r} is not an ISO date/time like 2026-03-01 or 2026-03-01T08:00")


class ProgressBar:
    """A tqdm bar on standard error fed with ``(done, total)`` progress callbacks."""

    def __init__(self, desc: str, unit: str = "file"):
        from tqdm import tqdm

        self.bar = tqdm(total=0, unit=unit, desc=desc, file=sys.stderr, dynamic_ncols=True, mininterval=0.5)

    def __call__(self, done: int, total: int) -> None:
        if self.bar.total != total:
            self.bar.total = total
            self.bar.refresh()
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        self.bar.close()


class CountBars:
    """One tqdm counter per name (e.g. rows written per table), on standard error, fed with ``(name, n)``."""

    def __init__(self, unit: str = " rows"):
        self.unit = unit
        self.bars: dict[str, Any] = {}

    def __call__(self, what: str, n: int) -> None:
        from tqdm import tqdm

        bar = self.bars.get(what)
        if bar is None:
            bar = self.bars[what] = tqdm(desc=what, unit=self.unit, file=sys.stderr, mininterval=0.5, leave=True)
        bar.update(n - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def run_job_with_progress(app: Flask, job_id: str, label: str) -> dict:
    """Run a queued job in this process (unless a worker took it) and show its progress.

    Returns the job's final ``status``, ``error``, ``failures`` and ``result``.
    """
    from ..jobs import core
    from ..models import Job

    def run():
        while core.run_job(job_id, app.config) == "queued":  # failed, attempts left: retry now
            pass

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    with click.progressbar(length=1, label=label, show_pos=True) as bar:
        while True:
            with session_for(app) as s:
                job = s.get(Job, job_id)
                status, done, total = job.status, job.progress_done, job.progress_total
            if total and bar.length != total:
                bar.length = total
            bar.update(done - bar.pos)
            if status in ("done", "failed", "cancelled") or (not runner.is_alive() and status != "running"):
                break
            time.sleep(0.2)  # a worker elsewhere may run the job: watch its row
    runner.join(timeout=5)
    with session_for(app) as s:
        job = s.get(Job, job_id)
        return {"status": job.status, "error": job.error, "failures": list(job.failures), "result": dict(job.result)}
