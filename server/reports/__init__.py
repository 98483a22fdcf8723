"""The annual monitoring report per program or protected area and year (HTML and PDF, Vietnamese and English)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from sqlmodel import Session

# render pulls in matplotlib and WeasyPrint (over a second to import), data the database models:
# load them when first used, so `saola` commands (and `saola --help`) and the server start quickly.
_LAZY = {"LANGS": "render", "render_html": "render", "render_pdf": "render", "ReportData": "data",
         "build_report": "data"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["LANGS", "ReportData", "build_report", "render_html", "render_pdf", "write_report"]


def write_report(session: Session, out_dir: str | Path, year: int, *, program_id: str | None = None,
                 area_id: str | None = None, lang: str = "vi", formats: tuple[str, ...] = ("html", "pdf"),
                 min_delta_min: float = 60.0, data_dir: str | None = None) -> dict[str, Path]:
    """Build and write the report; returns {'html': path, 'pdf': path} for the formats asked.

    ``data_dir``: the installation's DATA_DIR (the area's offline basemap under the map)."""
    from .data import build_report
    from .render import render_html, render_pdf, translator

    translator(lang)  # fail early on a bad language
    data = build_report(session, year, program_id=program_id, area_id=area_id, min_delta_min=min_delta_min,
                        data_dir=data_dir)
    html = render_html(data, lang, min_delta_min)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    scope = data.scope
    stem = f"report-{scope.area.code}-{scope.programs[0].name if len(scope.programs) == 1 else 'all'}-{year}-{lang}"
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)
    paths: dict[str, Path] = {}
    if "html" in formats:
        paths["html"] = out / f"{stem}.html"
        paths["html"].write_text(html, encoding="utf-8")
    if "pdf" in formats:
        paths["pdf"] = out / f"{stem}.pdf"
        paths["pdf"].write_bytes(render_pdf(html))
    return paths
