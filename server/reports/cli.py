"""``saola report --program ID --year YYYY [--lang vi|en] [--out DIR]``."""
from __future__ import annotations

from pathlib import Path

import click

from ..cli.common import fail, get_app, read_session


@click.command("report")
@click.option("--program", "program_id", default=None, help="Program id.")
@click.option("--area", default=None, help="Protected area code or id (all its programs).")
@click.option("--year", type=click.IntRange(1900, 2200), required=True, help="Calendar year reported on.")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Folder for the HTML and PDF files.")
@click.option("--format", "formats", type=click.Choice(["html", "pdf"]), multiple=True,
              help="Only these formats (repeatable; default both).")
@click.option("--min-delta", type=click.FloatRange(0), default=60.0, show_default=True,
              help="Minutes between independent camera events.")
def report_cmd(program_id, area, year, lang, out_dir, formats, min_delta):
    """Write the annual monitoring report (effort, species inventory with IUCN, national Red List and
    Decree 84 status, new species, comparison with the previous year, maps, threats and alerts)."""
    from ..errors import SaolaError
    from . import write_report

    try:
        app = get_app()
        with read_session(app) as s:
            paths = write_report(s, out_dir, year, program_id=program_id, area_id=area, lang=lang,
                                 formats=tuple(formats) or ("html", "pdf"), min_delta_min=min_delta,
                                 data_dir=app.config["DATA_DIR"])
    except SaolaError as e:
        fail(e.message)
    except RuntimeError as e:
        fail(str(e))
    for p in paths.values():
        click.echo(str(p))


def register(main: click.Group) -> None:
    """Add ``saola report`` to the ``saola`` command."""
    main.add_command(report_cmd)
