"""The ``saola`` command.

Every command has ``--help``. Commands that create a record print its id on
the last line of output, so scripts can capture it. Feature packages add
their own command groups (listed in ``FEATURE_COMMANDS``).
"""
from __future__ import annotations

import importlib
import json
import sys
from datetime import datetime
from pathlib import Path

import click
from sqlmodel import select

from . import settings as _settings

FEATURE_COMMANDS = [
    "server.ingest.cli",
    "server.detect.cli",
    "server.audio.cli",
    "server.exports.cli",
    "server.analytics.cli",
    "server.reports.cli",
    "server.sync.cli",
]


def get_app():
    """The Flask app for CLI work: no in-process worker threads (commands drain jobs themselves)."""
    from . import create_app

    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx else None
    if obj and "app" in obj:
        return obj["app"]
    cfg = {"WORKER": "external"} if _settings.load()["WORKER"] == "inprocess" else {}
    app = create_app(cfg)
    if ctx:
        ctx.find_root().obj = {"app": app}
    return app


def fail(message: str) -> None:
    raise click.ClickException(message)


def session_for(app):
    from .db import session_scope

    return session_scope(app.config["DATABASE_URL"])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="saola", prog_name="saola")
def main():
    """Saola: biodiversity field surveys, camera traps and sound traps for protected areas."""


# ---- config, init, db -------------------------------------------------------------------
@main.command("config")
@click.option("--values", is_flag=True, help="Also print the value each setting has now.")
def config_cmd(values):
    """List every setting (SAOLA_* environment variables) with its default and help."""
    current = _settings.load() if values else {}
    for env, default, help_ in _settings.describe():
        click.echo(f"{env}  (default {default})")
        click.echo(f"    {help_}")
        if values:
            click.echo(f"    now: {current[env.removeprefix('SAOLA_')]!r}")


@main.group("db")
def db_group():
    """Database schema."""


@db_group.command("upgrade")
def db_upgrade():
    """Create or migrate the schema to the newest version (safe to run again)."""
    from .migrate import current_revision, upgrade

    url = _settings.resolve_paths(_settings.load())["DATABASE_URL"]
    before = current_revision(url)
    upgrade(url)
    after = current_revision(url)
    click.echo(f"database at revision {after}" + ("" if before != after else " (already up to date)"))


@db_group.command("current")
def db_current():
    """Print the schema revision of the database."""
    from .migrate import current_revision

    url = _settings.resolve_paths(_settings.load())["DATABASE_URL"]
    click.echo(current_revision(url) or "empty")


@main.command("init")
@click.option("--admin", "admin_name", default=None, help="Also create this administrator (asks for a password).")
@click.option("--password", default=None, help="Administrator password (else prompted).")
def init_cmd(admin_name, password):
    """Create the data folder and the database schema, and optionally a first administrator."""
    from .migrate import upgrade

    cfg = _settings.resolve_paths(_settings.load())
    Path(cfg["DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    upgrade(cfg["DATABASE_URL"])
    click.echo(f"data folder {cfg['DATA_DIR']}; database ready")
    if admin_name:
        if password is None:
            password = click.prompt("password", hide_input=True, confirmation_prompt=True)
        uid = _add_user(admin_name, password, True, None, None, "vi")
        click.echo(uid)


# ---- users and tokens ------------------------------------------------------------------
def _add_user(username, password, admin, full_name, email, language) -> str:
    from . import audit
    from .auth.passwords import hash_password
    from .models import User

    app = get_app()
    with session_for(app) as s:
        if s.exec(select(User).where(User.username == username)).first():
            fail(f"user {username!r} already exists")
        try:
            ph = hash_password(password)
        except ValueError as e:
            fail(str(e))
        u = User(username=username, password_hash=ph, is_admin=admin, full_name=full_name, email=email,
                 language=language)
        s.add(u)
        s.flush()
        audit.record(s, "create", "user", u.id, area_id=None, after=audit.snapshot(u))
        return u.id


@main.group("users")
def users_group():
    """People who use Saola."""


@users_group.command("add")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="At least 8 characters.")
@click.option("--admin", is_flag=True, help="Administrator of the whole installation.")
@click.option("--name", "full_name", default=None, help="Full name.")
@click.option("--email", default=None)
@click.option("--language", type=click.Choice(["vi", "en"]), default="vi")
@click.option("--area", "areas", multiple=True, help="AREA_CODE:ROLE, e.g. PNKB:ranger (repeatable).")
def users_add(username, password, admin, full_name, email, language, areas):
    """Create a user; prints the new user's id."""
    grants = []
    for spec in areas:
        code, _, role = spec.partition(":")
        if role not in ("viewer", "ranger", "biologist", "manager"):
            fail(f"--area {spec!r}: role must be viewer, ranger, biologist or manager")
        grants.append((code, role))
    uid = _add_user(username, password, admin, full_name, email, language)
    if grants:
        from . import audit
        from .models import Membership

        with session_for(get_app()) as s:
            for code, role in grants:
                area = _area_by_code(s, code)
                m = Membership(user_id=uid, area_id=area.id, role=role)
                s.add(m)
                s.flush()
                audit.record(s, "create", "membership", m.id, area_id=area.id, after=audit.snapshot(m))
    click.echo(uid)


@users_group.command("list")
def users_list():
    """List users."""
    from .models import User

    with session_for(get_app()) as s:
        for u in s.exec(select(User).order_by(User.username)):
            click.echo(f"{u.id}  {u.username:20} {'admin' if u.is_admin else '':5} {u.full_name or ''}")


@main.group("tokens")
def tokens_group():
    """Bearer tokens for scripts and tablets."""


@tokens_group.command("create")
@click.argument("username")
@click.option("--days", default=90, show_default=True, help="Lifetime in days.")
@click.option("--name", default=None, help="What the token is for.")
def tokens_create(username, days, name):
    """Print a new API bearer token for USERNAME (shown once; only its hash is kept)."""
    from . import audit
    from .auth.tokens import issue_token
    from .models import User

    with session_for(get_app()) as s:
        user = s.exec(select(User).where(User.username == username)).first()
        if user is None:
            fail(f"no user {username!r}")
        raw, row = issue_token(s, user, kind="api", name=name or "cli", days=days)
        s.flush()
        audit.record(s, "create", "device_token", row.id, area_id=None, after=audit.snapshot(row))
    click.echo(raw)


@tokens_group.command("revoke")
@click.argument("token_id")
def tokens_revoke(token_id):
    """Revoke a token by id."""
    from .models import DeviceToken, utcnow

    with session_for(get_app()) as s:
        row = s.get(DeviceToken, token_id)
        if row is None:
            fail(f"no token {token_id!r}")
        row.revoked_at = row.revoked_at or utcnow()
    click.echo(f"revoked {token_id}")


# ---- taxa -------------------------------------------------------------------------------
@main.group("taxa")
def taxa_group():
    """The species reference."""


@taxa_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows even if some rows are bad.")
def taxa_import(file, skip_invalid):
    """Load or update taxa from a CSV (scientific_name, vietnamese_name, english_name, iucn_category, ...)."""
    from .services.taxa import import_rows, parse_csv

    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail(f"{file}: not UTF-8 text")
    rows, errors = parse_csv(text)
    for e in errors:
        click.echo(f"{file}: {e}", err=True)
    if errors and (not skip_invalid or not rows):
        fail(f"{file}: {len(errors)} bad row(s); nothing imported (use --skip-invalid to import the rest)")
    with session_for(get_app()) as s:
        rep = import_rows(s, rows)
    click.echo(f"{file}: {rep.created} created, {rep.updated} updated, {rep.unchanged} unchanged"
               + (f", {len(errors)} skipped" if errors else ""))


@taxa_group.command("search")
@click.argument("query")
def taxa_search(query):
    """Find taxa by any name, with or without diacritics."""
    from .models import Taxon
    from .services.taxa import search_clause

    with session_for(get_app()) as s:
        for t in s.exec(search_clause(select(Taxon), query).order_by(Taxon.scientific_name).limit(50)):
            click.echo(f"{t.id}  {t.scientific_name} | {t.vietnamese_name or ''} | {t.english_name or ''}")


# ---- areas, programs, deployments ----------------------------------------------------------
def _area_by_code(s, code_or_id):
    from sqlmodel import or_

    from .models import ProtectedArea

    a = s.exec(select(ProtectedArea).where(or_(ProtectedArea.code == code_or_id,
                                                ProtectedArea.id == code_or_id))).first()
    if a is None:
        fail(f"no protected area {code_or_id!r} (see `saola areas list`)")
    return a


def _create(s, row, area_id):
    from . import audit

    s.add(row)
    s.flush()
    audit.record(s, "create", row.__tablename__, row.id, area_id=area_id, after=audit.snapshot(row))
    return row


@main.group("areas")
def areas_group():
    """Protected areas."""


@areas_group.command("add")
@click.argument("code")
@click.argument("name")
@click.option("--name-vi", default=None, help="Vietnamese name.")
@click.option("--province", default=None)
def areas_add(code, name, name_vi, province):
    """Create a protected area; prints its id."""
    from .models import ProtectedArea

    with session_for(get_app()) as s:
        if s.exec(select(ProtectedArea).where(ProtectedArea.code == code)).first():
            fail(f"protected area code {code!r} is already used")
        a = ProtectedArea(code=code, name=name, name_vi=name_vi, province=province)
        a = _create(s, a, a.id)
        click.echo(a.id)


@areas_group.command("list")
def areas_list():
    """List protected areas."""
    from .models import ProtectedArea

    with session_for(get_app()) as s:
        for a in s.exec(select(ProtectedArea).order_by(ProtectedArea.code)):
            click.echo(f"{a.id}  {a.code:10} {a.name}")


@main.group("programs")
def programs_group():
    """Monitoring programs."""


@programs_group.command("add")
@click.argument("area")
@click.argument("name")
@click.option("--protocol", type=click.Choice(["camera-trap", "acoustic", "line-transect", "listening-post",
                                               "patrol", "mixed"]), default="camera-trap", show_default=True)
@click.option("--season", default=None)
@click.option("--sequence-gap", default=60, show_default=True, help="Seconds between images that split sequences.")
def programs_add(area, name, protocol, season, sequence_gap):
    """Create a program in AREA (code or id); prints its id."""
    from .models import Program

    with session_for(get_app()) as s:
        a = _area_by_code(s, area)
        if s.exec(select(Program).where(Program.area_id == a.id, Program.name == name)).first():
            fail(f"program {name!r} already exists in {a.code}")
        p = _create(s, Program(area_id=a.id, name=name, protocol=protocol, season=season,
                               sequence_gap_s=sequence_gap), a.id)
        click.echo(p.id)


@programs_group.command("list")
@click.option("--area", default=None, help="Only this area (code or id).")
def programs_list(area):
    """List programs."""
    from .models import Program, ProtectedArea

    with session_for(get_app()) as s:
        stmt = select(Program, ProtectedArea).join(ProtectedArea, ProtectedArea.id == Program.area_id)
        if area:
            stmt = stmt.where(Program.area_id == _area_by_code(s, area).id)
        for p, a in s.exec(stmt.order_by(ProtectedArea.code, Program.name)):
            click.echo(f"{p.id}  {a.code:10} {p.protocol:13} {p.name}")


def _parse_time(value: str | None, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        fail(f"{what}: {value!r} is not an ISO date/time like 2026-03-01 or 2026-03-01T08:00")


@main.group("deployments")
def deployments_group():
    """Camera-trap and acoustic-recorder deployments."""


@deployments_group.command("add")
@click.option("--area", required=True, help="Protected area code or id.")
@click.option("--program", "program_name", required=True, help="Program name or id (created when new).")
@click.option("--location", "location_name", required=True, help="Location/station name (created when new).")
@click.option("--lat", type=click.FloatRange(-90, 90), default=None, help="Latitude of a new location.")
@click.option("--lon", type=click.FloatRange(-180, 180), default=None, help="Longitude of a new location.")
@click.option("--start", required=True, help="Deployment start, local time of --timezone (ISO).")
@click.option("--end", default=None, help="Deployment end (ISO); empty while still deployed.")
@click.option("--kind", type=click.Choice(["camera", "acoustic"]), default="camera", show_default=True)
@click.option("--serial", default=None, help="Camera or recorder serial number.")
@click.option("--model", "device_model", default=None, help="Camera or recorder model.")
@click.option("--timezone", default="Asia/Ho_Chi_Minh", show_default=True, help="Time zone of the device clock.")
@click.option("--clock-offset", default=0, show_default=True, help="Seconds to add to the device clock.")
@click.option("--height", type=float, default=None, help="Camera height in metres.")
@click.option("--heading", type=click.IntRange(0, 360), default=None, help="Compass heading in degrees.")
def deployments_add(area, program_name, location_name, lat, lon, start, end, kind, serial, device_model,
                    timezone, clock_offset, height, heading):
    """Create a deployment (and its program and location when they are new); prints its id."""
    from sqlmodel import or_

    from .errors import SaolaError
    from .models import Program
    from .services.deployments import build_deployment
    from .timeutil import zone

    try:
        zone(timezone)
    except ValueError as e:
        fail(str(e))
    fields = {"kind": kind, "deployment_start": _parse_time(start, "--start"),
              "deployment_end": _parse_time(end, "--end"), "timezone": timezone, "clock_offset_s": clock_offset,
              "camera_id": serial, "camera_model": device_model, "camera_height": height, "camera_heading": heading}
    with session_for(get_app()) as s:
        a = _area_by_code(s, area)
        p = s.exec(select(Program).where(Program.area_id == a.id).where(
            or_(Program.name == program_name, Program.id == program_name))).first()
        if p is None:
            p = _create(s, Program(area_id=a.id, name=program_name,
                                   protocol="acoustic" if kind == "acoustic" else "camera-trap"), a.id)
            click.echo(f"created program {p.name} ({p.id})")
        try:
            dep = build_deployment(s, p, fields, location={"name": location_name, "latitude": lat, "longitude": lon})
        except SaolaError as e:
            fail(e.message)
        _create(s, dep, a.id)
        dep_id, area_id, serial = dep.id, a.id, dep.camera_id
    if serial:
        # Media ingested before this deployment existed (same serial, inside the window) join it now.
        from .ingest.jobs import retime_deployment

        res = retime_deployment(lambda: session_for(get_app()), dep_id)
        if res.get("adopted"):
            click.echo(f"{res['adopted']} media ingested earlier with serial {serial} now belong to it")
    click.echo(dep_id)


@deployments_group.command("list")
@click.option("--area", default=None, help="Only this area (code or id).")
def deployments_list(area):
    """List deployments."""
    from .models import Deployment, Location, Program

    with session_for(get_app()) as s:
        stmt = (select(Deployment, Location, Program).join(Location, Location.id == Deployment.location_id)
                .join(Program, Program.id == Deployment.program_id))
        if area:
            stmt = stmt.where(Program.area_id == _area_by_code(s, area).id)
        for d, loc, p in s.exec(stmt.order_by(Deployment.deployment_start)):
            end = d.deployment_end.isoformat() if d.deployment_end else "open"
            click.echo(f"{d.id}  {d.kind:8} {loc.name:16} {d.camera_id or '-':14} "
                       f"{d.deployment_start.isoformat()} – {end}  [{p.name}]")


# ---- serving and workers ---------------------------------------------------------------------
@main.command("serve")
@click.option("--host", default=None, help="Address to listen on (default SAOLA_HOST).")
@click.option("--port", type=int, default=None, help="Port (default SAOLA_PORT).")
@click.option("--debug", is_flag=True, help="Flask's reloading debug server instead of waitress (development only).")
def serve(host, port, debug):
    """Serve the web UI and the API (waitress, a production WSGI server)."""
    from . import create_app

    app = create_app()
    host = host or app.config["HOST"]
    port = port or app.config["PORT"]
    click.echo(f"Saola on http://{host}:{port}/  (API: /api/v1/openapi.json)")
    if debug:
        app.run(host=host, port=port, debug=True, use_reloader=False)
        return
    import waitress

    # Request bodies up to 8 MiB (a photo upload chunk) stay in memory instead of a spool file.
    waitress.serve(app, host=host, port=port, threads=app.config["THREADS"], ident="saola",
                   max_request_body_size=app.config["MAX_CONTENT_LENGTH"], inbuf_overflow=8 * 1024 * 1024 + 65536)


@main.command("worker")
@click.option("--threads", default=1, show_default=True, help="Jobs run at once.")
@click.option("--once", is_flag=True, help="Run what is queued, then exit.")
@click.option("--celery", "use_celery", is_flag=True, help="Run a Celery worker on SAOLA_BROKER_URL instead.")
def worker_cmd(threads, once, use_celery):
    """Run background jobs (detection, audio analysis...) from the database queue."""
    if use_celery:
        from .jobs.celery_app import celery

        celery.worker_main(["worker", "--loglevel=INFO", "--concurrency", str(threads), "--prefetch-multiplier=1",
                            "-Q", "saola", "--without-gossip", "--without-mingle", "--pool=prefork"])
        return
    app = get_app()
    from .jobs import core
    from .jobs.worker import PollingWorker

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


@main.group("jobs")
def jobs_group():
    """Background jobs."""


@jobs_group.command("list")
@click.option("--status", default=None)
def jobs_list(status):
    """List recent jobs."""
    from .models import Job

    with session_for(get_app()) as s:
        stmt = select(Job).order_by(Job.created_at.desc()).limit(50)
        if status:
            stmt = stmt.where(Job.status == status)
        for j in s.exec(stmt):
            click.echo(f"{j.id}  {j.kind:18} {j.status:9} {j.progress_done}/{j.progress_total} {j.error or ''}")


@main.command("demo")
@click.option("--serve", "then_serve", is_flag=True, help="Serve the web UI and API afterwards.")
@click.option("--port", type=int, default=None)
@click.option("--detector", type=click.Path(exists=True, dir_okay=False), default=None,
              help="An ONNX MegaDetector file to run on the sample photos (none ships with Saola).")
def demo(then_serve, port, detector):
    """Set up the embedded default with the project's own sample media, run its jobs, and (with --serve) serve it."""
    from .demo import run_demo

    info = run_demo(echo=click.echo, detector=detector)
    click.echo(json.dumps(info, indent=2, ensure_ascii=False))
    if then_serve:
        ctx = click.get_current_context()
        ctx.invoke(serve, host=None, port=port, debug=False)


@main.group("export")
def export_group():
    """Export data in interchange formats (feature commands add subcommands)."""


@main.group("import")
def import_group():
    """Import data from interchange formats (feature commands add subcommands)."""


def _load_features() -> None:
    for mod in FEATURE_COMMANDS:
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name and (e.name == mod or mod.startswith(e.name + ".")):
                continue  # feature not built yet
            raise
        m.register(main)


_load_features()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
