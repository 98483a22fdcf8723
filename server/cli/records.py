"""``saola taxa``, ``saola areas``, ``saola programs`` and ``saola deployments``."""
from __future__ import annotations

from pathlib import Path

import click

from .common import area_by_code, create_audited, fail, get_app, parse_time, session_for


def register(main: click.Group) -> None:
    """Add the species reference and the area, program and deployment commands to ``saola``."""
    for cmd in (taxa_group, areas_group, programs_group, deployments_group):
        main.add_command(cmd)


# ---- taxa -------------------------------------------------------------------------------
@click.group("taxa")
def taxa_group():
    """The species reference."""


@taxa_group.command("import")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows even if some rows are bad.")
def taxa_import(file, skip_invalid):
    """Load or update taxa from a CSV (scientific_name, rank, parent, vietnamese_name, english_name,
    other_names, iucn_category, vn_redlist_category, decree84_group, cites_appendix, source...).
    A `code` column (or codes, alternative_names) adds folder codes such as camtrapR's PBE to the
    alternative names; columns a file lacks leave the stored names alone.

    Without FILE, loads or updates the species reference shipped with Saola
    (protocols/species/vn_reference.csv): new taxa are added, changed names and categories
    updated, nothing is duplicated, and running it again changes nothing.
    """
    from ..services.taxa import import_rows, known_ranks, parse_csv, reference_path

    bundled = file is None
    file = file or reference_path()
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail(f"{file}: not UTF-8 text")
    with session_for(get_app()) as s:
        rows, errors = parse_csv(text, known_ranks(s))
        for e in errors:
            click.echo(f"{file}: {e}", err=True)
        if errors and (not skip_invalid or not rows):
            fail(f"{file}: {len(errors)} bad row(s); nothing imported (use --skip-invalid to import the rest)")
        rep = import_rows(s, rows, keep_local_names=bundled)
    click.echo(f"{file}: {rep.created} created, {rep.updated} updated, {rep.unchanged} unchanged"
               + (f", {len(errors)} skipped" if errors else ""))


@taxa_group.command("search")
@click.argument("query")
def taxa_search(query):
    """Find taxa by any name, with or without diacritics."""
    from sqlmodel import select

    from ..models import Taxon
    from ..services.taxa import search_clause

    with session_for(get_app()) as s:
        for t in s.exec(search_clause(select(Taxon), query).order_by(Taxon.scientific_name).limit(50)):
            click.echo(f"{t.id}  {t.scientific_name} | {t.vietnamese_name or ''} | {t.english_name or ''}")


# ---- areas, programs, deployments ----------------------------------------------------------
@click.group("areas")
def areas_group():
    """Protected areas."""


@areas_group.command("add")
@click.argument("code")
@click.argument("name")
@click.option("--name-vi", default=None, help="Vietnamese name.")
@click.option("--province", default=None)
def areas_add(code, name, name_vi, province):
    """Create a protected area; prints its id."""
    from sqlmodel import select

    from ..models import ProtectedArea

    with session_for(get_app()) as s:
        if s.exec(select(ProtectedArea).where(ProtectedArea.code == code)).first():
            fail(f"protected area code {code!r} is already used")
        a = ProtectedArea(code=code, name=name, name_vi=name_vi, province=province)
        a = create_audited(s, a, a.id)
        click.echo(a.id)


@areas_group.command("list")
def areas_list():
    """List protected areas."""
    from sqlmodel import select

    from ..models import ProtectedArea

    with session_for(get_app()) as s:
        for a in s.exec(select(ProtectedArea).order_by(ProtectedArea.code)):
            click.echo(f"{a.id}  {a.code:10} {a.name}")


@click.group("programs")
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
    from sqlmodel import select

    from ..models import Program

    with session_for(get_app()) as s:
        a = area_by_code(s, area)
        if s.exec(select(Program).where(Program.area_id == a.id, Program.name == name)).first():
            fail(f"program {name!r} already exists in {a.code}")
        p = create_audited(s, Program(area_id=a.id, name=name, protocol=protocol, season=season,
                                      sequence_gap_s=sequence_gap), a.id)
        click.echo(p.id)


@programs_group.command("list")
@click.option("--area", default=None, help="Only this area (code or id).")
def programs_list(area):
    """List programs."""
    from sqlmodel import select

    from ..models import Program, ProtectedArea

    with session_for(get_app()) as s:
        stmt = select(Program, ProtectedArea).join(ProtectedArea, ProtectedArea.id == Program.area_id)
        if area:
            stmt = stmt.where(Program.area_id == area_by_code(s, area).id)
        for p, a in s.exec(stmt.order_by(ProtectedArea.code, Program.name)):
            click.echo(f"{p.id}  {a.code:10} {p.protocol:13} {p.name}")


@click.group("deployments")
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
    from sqlmodel import or_, select

    from ..errors import SaolaError
    from ..models import Program
    from ..services.deployments import build_deployment
    from ..timeutil import zone

    try:
        zone(timezone)
    except ValueError as e:
        fail(str(e))
    fields = {"kind": kind, "deployment_start": parse_time(start, "--start"),
              "deployment_end": parse_time(end, "--end"), "timezone": timezone, "clock_offset_s": clock_offset,
              "camera_id": serial, "camera_model": device_model, "camera_height": height, "camera_heading": heading}
    with session_for(get_app()) as s:
        a = area_by_code(s, area)
        p = s.exec(select(Program).where(Program.area_id == a.id).where(
            or_(Program.name == program_name, Program.id == program_name))).first()
        if p is None:
            p = create_audited(s, Program(area_id=a.id, name=program_name,
                                          protocol="acoustic" if kind == "acoustic" else "camera-trap"), a.id)
            click.echo(f"created program {p.name} ({p.id})")
        try:
            dep = build_deployment(s, p, fields, location={"name": location_name, "latitude": lat, "longitude": lon})
        except SaolaError as e:
            fail(e.message)
        create_audited(s, dep, a.id)
        dep_id, serial = dep.id, dep.camera_id
    if serial:
        # Media ingested before this deployment existed (same serial, inside the window) join it now.
        from ..ingest.jobs import retime_deployment

        res = retime_deployment(lambda: session_for(get_app()), dep_id)
        if res.get("adopted"):
            click.echo(f"{res['adopted']} media ingested earlier with serial {serial} now belong to it")
    click.echo(dep_id)


@deployments_group.command("list")
@click.option("--area", default=None, help="Only this area (code or id).")
def deployments_list(area):
    """List deployments."""
    from sqlmodel import select

    from ..models import Deployment, Location, Program

    with session_for(get_app()) as s:
        stmt = (select(Deployment, Location, Program).join(Location, Location.id == Deployment.location_id)
                .join(Program, Program.id == Deployment.program_id))
        if area:
            stmt = stmt.where(Program.area_id == area_by_code(s, area).id)
        for d, loc, p in s.exec(stmt.order_by(Deployment.deployment_start)):
            end = d.deployment_end.isoformat() if d.deployment_end else "open"
            click.echo(f"{d.id}  {d.kind:8} {loc.name:16} {d.camera_id or '-':14} "
                       f"{d.deployment_start.isoformat()} – {end}  [{p.name}]")
