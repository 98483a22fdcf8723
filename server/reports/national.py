"""The national synthesis report of a hub: every protected area's year side by side, national totals,
the priority species' trends, camera health and the units' reporting status (HTML and PDF, vi/en).

Its figures are the national dashboard's (server/national/dashboard.py, each area-year the annual
report's own gathering) and its national inventory (server/national/inventory.py); it renders
through the annual report's machinery (render.render_template, the shared style, WeasyPrint).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlmodel import Session

from .submissions import STATUS_LABELS


def render_national_html(session: Session, year: int, lang: str = "vi",
                         today: Optional[date | datetime] = None) -> str:
    """The national synthesis report for ``year`` as one self-contained HTML document."""
    from ..models import utcnow
    from ..national.charts import area_label, effort_figure, priority_trend_figure, species_figure
    from ..national.dashboard import national_summary
    from ..national.inventory import build_inventory
    from .render import data_uri, translator

    translator(lang)  # a bad language fails before the work
    s = national_summary(session, year, today)
    inv = build_inventory(session, year)
    figures = {}
    if s.areas:
        figures = {"effort": data_uri(effort_figure(s, lang)), "species": data_uri(species_figure(s, lang))}
        if s.priority_names():
            figures["trend"] = data_uri(priority_trend_figure(s, lang))
    from .render import render_template

    return render_template("national_report.html", lang, s=s, inv=inv, figures=figures, status_labels=STATUS_LABELS,
                           area_label=lambda a: area_label(a, lang), generated=utcnow().date().isoformat())


def write_national_report(session: Session, out_dir, year: int, lang: str = "vi",
                          formats: tuple[str, ...] = ("html", "pdf")) -> dict:
    """Write ``national-synthesis-<year>-<lang>.html`` / ``.pdf`` into ``out_dir``; their paths by format."""
    from pathlib import Path

    from .render import render_pdf

    html = render_national_html(session, year, lang)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    if "html" in formats:
        paths["html"] = out / f"national-synthesis-{year}-{lang}.html"
        paths["html"].write_text(html, encoding="utf-8")
    if "pdf" in formats:
        paths["pdf"] = out / f"national-synthesis-{year}-{lang}.pdf"
        paths["pdf"].write_bytes(render_pdf(html))
    return paths
