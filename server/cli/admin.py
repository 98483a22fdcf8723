"""``saola config``, ``saola db``, ``saola init``, ``saola users`` and ``saola tokens``."""
from __future__ import annotations

import re
from pathlib import Path

import click

from .. import settings as _settings
from .common import fail, get_app, session_for


def register(main: click.Group) -> None:
    """Add the installation's settings, schema, user and token commands to ``saola``."""
    for cmd in (config_cmd, db_group, init_cmd, users_group, tokens_group):
        main.add_command(cmd)


@click.command("config")
@click.option("--values", is_flag=True, help="Also print the value each setting has now.")
def config_cmd(values):
    """List every setting (SAOLA_* environment variables) with its default and help."""
    current = _settings.load() if values else {}
    for env, default, help_ in _settings.describe():
        click.echo(f"{env}  (default {default})")
        click.echo(f"    {help_}")
        if values:
            name = env.removeprefix("SAOLA_")
            # Secrets are set, not shown: the output gets pasted into issue reports and chats.
            secret = any(w in name for w in ("SECRET", "PASSWORD", "TOKEN")) and current[name]
            value = current[name]
            if isinstance(value, str):  # postgresql://user:PASSWORD@host/db
                value = re.sub(r"(://[^/:@]*:)[^/@]*@", r"\1***@", value)
            click.echo(f"    now: {'(set, not shown)' if secret else repr(value)}")


@click.group("db")
def db_group():
    """Database schema."""


@db_group.command("upgrade")
def db_upgrade():
    """Create or migrate the schema to the newest version (safe to run again)."""
    from ..migrate import current_revision, upgrade

    url = _settings.resolve_paths(_settings.load())["DATABASE_URL"]
    before = current_revision(url)
    upgrade(url)
    after = current_revision(url)
    click.echo(f"database at revision {after}" + ("" if before != after else " (already up to date)"))


@db_group.command("current")
def db_current():
    """Print the schema revision of the database."""
    from ..migrate import current_revision

    url = _settings.resolve_paths(_settings.load())["DATABASE_URL"]
    click.echo(current_revision(url) or "empty")


@click.command("init")
@click.option("--admin", "admin_name", default=None, help="Also create this administrator (asks for a password).")
@click.option("--password", default=None, help="Administrator password (else prompted).")
@click.option("--no-species", is_flag=True, help="Do not load the species reference shipped with Saola.")
def init_cmd(admin_name, password, no_species):
    """Create the data folder and the database schema, load the species reference of Vietnam's
    protected areas (protocols/species/vn_reference.csv), and optionally a first administrator.

    Safe to run again: the schema is migrated and the reference updated, nothing duplicated.
    """
    from ..migrate import upgrade

    cfg = _settings.resolve_paths(_settings.load())
    Path(cfg["DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    upgrade(cfg["DATABASE_URL"])
    click.echo(f"data folder {cfg['DATA_DIR']}; database ready")
    if not no_species:
        from ..services.taxa import load_reference, reference_path

        with session_for(get_app()) as s:
            rep, errors = load_reference(s)
        if errors:  # the shipped file is checked by the tests; a local edit may break it
            fail(f"{reference_path()}: " + "; ".join(errors[:5]))
        click.echo(f"species reference: {rep.created} taxa added, {rep.updated} updated, {rep.unchanged} unchanged")
    if admin_name:
        if password is None:
            password = click.prompt("password", hide_input=True, confirmation_prompt=True)
        uid = _add_user(admin_name, password, True, None, None, "vi")
        click.echo(uid)


# ---- users and tokens ------------------------------------------------------------------
def _add_user(username, password, admin, full_name, email, language, national: bool = False) -> str:
    from sqlmodel import select

    from .. import audit
    from ..auth.passwords import check_new_password, hash_password
    from ..models import User

    app = get_app()
    with session_for(app) as s:
        if s.exec(select(User).where(User.username == username)).first():
            fail(f"user {username!r} already exists")
        try:
            check_new_password(password, username)
            ph = hash_password(password)
        except ValueError as e:
            fail(str(e))
        u = User(username=username, password_hash=ph, is_admin=admin, full_name=full_name, email=email,
                 language=language, is_national=national)
        s.add(u)
        s.flush()
        audit.record(s, "create", "user", u.id, area_id=None, after=audit.snapshot(u))
        return u.id


@click.group("users")
def users_group():
    """People who use Saola."""


@users_group.command("add")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 10 characters, not common nor easy to guess (see README, Sign-in and security).")
@click.option("--admin", is_flag=True, help="Administrator of the whole installation.")
@click.option("--national", is_flag=True,
              help="National viewer: reads the hub's national views across every area (no role in the areas).")
@click.option("--name", "full_name", default=None, help="Full name.")
@click.option("--email", default=None)
@click.option("--language", type=click.Choice(["vi", "en"]), default="vi")
@click.option("--area", "areas", multiple=True, help="AREA_CODE:ROLE, e.g. PNKB:ranger (repeatable).")
def users_add(username, password, admin, national, full_name, email, language, areas):
    """Create a user; prints the new user's id."""
    grants = []
    for spec in areas:
        code, _, role = spec.partition(":")
        if role not in ("viewer", "ranger", "biologist", "manager"):
            fail(f"--area {spec!r}: role must be viewer, ranger, biologist or manager")
        grants.append((code, role))
    uid = _add_user(username, password, admin, full_name, email, language, national)
    if grants:
        from ..models import Membership
        from .common import area_by_code, create_audited

        with session_for(get_app()) as s:
            for code, role in grants:
                area = area_by_code(s, code)
                create_audited(s, Membership(user_id=uid, area_id=area.id, role=role), area.id)
    click.echo(uid)


@users_group.command("list")
def users_list():
    """List users."""
    from sqlmodel import select

    from ..models import User

    with session_for(get_app()) as s:
        for u in s.exec(select(User).order_by(User.username)):
            role = "admin" if u.is_admin else "national" if u.is_national else ""
            click.echo(f"{u.id}  {u.username:20} {role:8} {u.full_name or ''}")


@click.group("tokens")
def tokens_group():
    """Bearer tokens for scripts and tablets."""


@tokens_group.command("create")
@click.argument("username")
@click.option("--days", default=90, show_default=True, help="Lifetime in days.")
@click.option("--name", default=None, help="What the token is for.")
def tokens_create(username, days, name):
    """Print a new API bearer token for USERNAME (shown once; only its hash is kept)."""
    from sqlmodel import select

    from .. import audit
    from ..auth.tokens import check_days, issue_token
    from ..models import User

    app = get_app()
    try:
        check_days(days, app.config["TOKEN_MAX_DAYS"])
    except ValueError as e:
        fail(str(e))
    with session_for(app) as s:
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
    from ..models import DeviceToken, utcnow

    with session_for(get_app()) as s:
        row = s.get(DeviceToken, token_id)
        if row is None:
            fail(f"no token {token_id!r}")
        row.revoked_at = row.revoked_at or utcnow()
    click.echo(f"revoked {token_id}")
