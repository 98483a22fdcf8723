"""The embedded-default demo: one command from a fresh clone to a running Saola
with the project's own sample media ingested and classified."""
from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Callable

from sqlmodel import select

from . import settings as _settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_MEDIA = ROOT / "sample_media"
SPECIES_CSV = ROOT / "protocols" / "species" / "vn_core.csv"
DEMO_USER = "admin"
DEMO_PASSWORD_ENV = "SAOLA_DEMO_PASSWORD"


def run_demo(echo: Callable[[str], None] = print) -> dict:
    """Create (or reuse) the demo data and return what was done."""
    from . import create_app
    from .auth.passwords import hash_password
    from .db import session_scope
    from .jobs import core as jobs
    from .migrate import upgrade
    from .models import Membership, Program, ProtectedArea, User
    from .services.deployments import build_deployment
    from .services.taxa import import_rows, parse_csv

    cfg = _settings.resolve_paths(_settings.load())
    upgrade(cfg["DATABASE_URL"])
    app = create_app({"WORKER": "external"})
    url = app.config["DATABASE_URL"]
    info: dict = {"data_dir": app.config["DATA_DIR"], "database": url}
    password = os.environ.get(DEMO_PASSWORD_ENV, "saola-demo")
    with app.app_context(), session_scope(url) as s:
        user = s.exec(select(User).where(User.username == DEMO_USER)).first()
        if user is None:
            user = User(username=DEMO_USER, password_hash=hash_password(password), is_admin=True,
                        full_name="Demo administrator", language="vi")
            s.add(user)
            echo(f"created user {DEMO_USER} (password: {password})")
        if SPECIES_CSV.exists():
            rows, errors = parse_csv(SPECIES_CSV.read_text(encoding="utf-8"))
            rep = import_rows(s, rows)
            info["taxa"] = {"created": rep.created, "updated": rep.updated}
        area = s.exec(select(ProtectedArea).where(ProtectedArea.code == "DEMO")).first()
        if area is None:
            area = ProtectedArea(code="DEMO", name="Demo National Park", name_vi="Vườn quốc gia Demo",
                                 province="Quảng Nam")
            s.add(area)
            s.flush()
            s.add(Membership(user_id=user.id, area_id=area.id, role="manager"))
        program = s.exec(select(Program).where(Program.area_id == area.id, Program.name == "Camera traps 2026")).first()
        if program is None:
            program = Program(area_id=area.id, name="Camera traps 2026", protocol="camera-trap", season="2026")
            s.add(program)
            s.flush()
        info["area_id"], info["program_id"] = area.id, program.id
    ingest_info = _ingest_samples(app, info)
    if ingest_info:
        info["ingest"] = ingest_info
    ran = jobs.drain(app.config)
    info["jobs_run"] = ran
    info["sign_in"] = {"url": f"http://{app.config['HOST']}:{app.config['PORT']}/login", "username": DEMO_USER,
                       "password": password}
    return info


def _ingest_samples(app, info: dict) -> dict | None:
    """Ingest sample_media/ with the ingest feature, when it is installed."""
    try:
        from .ingest.demo import ingest_demo_media
    except ModuleNotFoundError:
        return None
    return ingest_demo_media(app, info, SAMPLE_MEDIA)
