"""``saola export camtrap-dp|dwca`` and ``saola import camtrap-dp``."""
from __future__ import annotations

import json
from pathlib import Path

import click

from ..cli.common import CountBars, fail, get_app, read_session, session_for


def register(main: click.Group) -> None:
    """Add the export and import subcommands to the ``export`` and ``import`` groups."""
    main.commands["export"].add_command(camtrap_dp_export_cmd, "camtrap-dp")
    main.commands["export"].add_command(dwca_export_cmd, "dwca")
    main.commands["import"].add_command(camtrap_dp_import_cmd, "camtrap-dp")


def _scope_options(fn):
    fn = click.option("--area", "area", default=None, help="Protected area code or id (all its programs).")(fn)
    fn = click.option("--program", "program_id", default=None, help="Program id.")(fn)
    fn = click.option("--network", is_flag=True, help="Every protected area (a national hub's whole network).")(fn)
    return fn


@click.command("camtrap-dp")
@_scope_options
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the package to (created).")
@click.option("--public", is_flag=True, help="Public release: generalise sensitive species' stations, drop media "
                                             "showing people.")
@click.option("--media", "media_mode", type=click.Choice(["copy", "link"]), default="copy", show_default=True,
              help="Copy the original files into the package, or link them by URL (needs --base-url).")
@click.option("--base-url", default=None, help="URL prefix of the media files for --media link.")
@click.option("--grid", "grid_deg", type=click.FloatRange(0.001, 10), default=0.1, show_default=True,
              help="Grid (degrees) sensitive locations are generalised to.")
@click.option("--validate", is_flag=True, help="Also validate the package against the official Camtrap DP 1.0.2 "
                                               "profile and table schemas (shipped with Saola; offline).")
@click.option("--standards", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Validate against the official files in this folder instead of the shipped copies "
                   "(implies --validate).")
def camtrap_dp_export_cmd(network, program_id, area, out_dir, public, media_mode, base_url, grid_deg, validate, standards):
    """Export a program (or a whole protected area) as a Camtrap DP 1.0.2 package."""
    from ..errors import SaolaError
    from ..storage import get_store
    from .camtrap_dp import export_camtrap_dp

    app = get_app()
    bars = CountBars()
    try:
        with read_session(app) as s:  # long read: no write lock
            rep = export_camtrap_dp(s, out_dir, program_id=program_id, area_id=area, public=public,
                                    media_mode=media_mode, store=get_store(app), base_url=base_url,
                                    grid_deg=grid_deg, progress=bars, network=network)
    except SaolaError as e:
        fail(e.message)
    finally:
        bars.close()
    click.echo(json.dumps(rep.as_dict(), indent=1))
    if validate or standards:
        from .validate import validate_camtrap_dp

        try:
            problems = validate_camtrap_dp(out_dir, standards)
        except ImportError as e:
            fail(f"--validate needs frictionless and jsonschema ({e}); install saola[server]")
        except FileNotFoundError as e:
            fail(f"--standards {standards}: {e.filename} is missing (give the folder with camtrap-dp-profile.json "
                 "and the three *-table-schema.json files)")
        for p in problems[:50]:
            click.echo(f"invalid: {p}", err=True)
        if problems:
            fail(f"{out_dir}: {len(problems)} validation problem(s)")
        click.echo(f"{out_dir}: valid Camtrap DP 1.0.2")


@click.command("dwca")
@_scope_options
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Archive to write (.zip), or a folder.")
@click.option("--public", is_flag=True, help="Public release: generalise or withhold sensitive species' coordinates.")
@click.option("--sensitive", type=click.Choice(["generalise", "withhold"]), default="generalise", show_default=True,
              help="What a public archive does with sensitive coordinates.")
@click.option("--grid", "grid_deg", type=click.FloatRange(0.001, 10), default=0.1, show_default=True)
@click.option("--country", default="VN", show_default=True, help="ISO country code of the records.")
def dwca_export_cmd(network, program_id, area, out, public, sensitive, grid_deg, country):
    """Export sampling events and occurrences as a Darwin Core Archive (Event core)."""
    from ..errors import SaolaError
    from .dwca import export_dwca
    from .sensitive import SensitivePolicy

    try:
        with read_session(get_app()) as s:
            rep = export_dwca(s, out, program_id=program_id, area_id=area, public=public,
                              policy=SensitivePolicy(sensitive, grid_deg), country_code=country, network=network)
    except SaolaError as e:
        fail(e.message)
    click.echo(json.dumps(rep.as_dict(), indent=1))


@click.command("camtrap-dp")
@click.argument("package", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--area", default=None, help="Protected area code or id (needed when there are several).")
@click.option("--program-name", default=None, help="Name of the new program (default: the package title).")
def camtrap_dp_import_cmd(package, area, program_name):
    """Import a Camtrap DP package (folder with datapackage.json) as a new program; prints the program id."""
    from sqlmodel import select

    from ..errors import SaolaError
    from ..models import ProtectedArea
    from ..storage import get_store
    from .camtrap_dp import import_camtrap_dp

    app = get_app()
    try:
        if area is None:
            with read_session(app) as s:
                areas = [a.id for a in s.exec(select(ProtectedArea))]
            if len(areas) != 1:
                fail("give --area: there are " + (f"{len(areas)} protected areas" if areas else
                                                  "no protected areas yet (saola areas add)"))
            area = areas[0]
        with session_for(app) as s:
            rep = import_camtrap_dp(s, package, area_id=area, store=get_store(app), program_name=program_name)
    except SaolaError as e:
        fail(f"{package}: {e.message}")
    if rep.already_imported:
        click.echo(f"{package}: already imported (program {rep.program_id}); nothing changed")
    else:
        click.echo(f"{package}: {rep.deployments} deployments, {rep.media} media ({rep.media_stored} stored, "
                   f"{rep.media_linked} linked), {rep.observations} observations, {rep.taxa_created} new taxa")
    click.echo(rep.program_id)
