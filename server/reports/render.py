"""Render the annual report as HTML (Jinja) and PDF (WeasyPrint), in Vietnamese or English.

Figures are matplotlib PNGs embedded as data URIs, so the HTML is one
self-contained file and WeasyPrint needs no network or tile server.
"""
from __future__ import annotations

import base64
import io
import math
import sqlite3
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from matplotlib.figure import Figure

from protocols.i18n import LANGUAGES, Catalog, N_

from ..analytics.plots import accumulation_figure, diel_activity_figure, localise_axes, number_format
from .data import ReportData

LANGS = LANGUAGES
TEMPLATES = Path(__file__).parent  # annual_report.html sits beside this module (installed as package data)

# The report's text is English in this module and the template; its Vietnamese is in
# locale/vi.po beside them (Saola's one mechanism, protocols/i18n.py).
TEXT = Catalog(Path(__file__).parent / "locale")
EFFORT_ROWS = [("camera_stations", N_("Camera-trap stations")), ("camera_deployments", N_("Camera deployments")),
               ("trap_nights", N_("Trap-nights")), ("walks", N_("Transect walks")), ("km", N_("Kilometres walked")),
               ("recorders", N_("Acoustic recorders")), ("recording_hours", N_("Recording hours"))]
RICHNESS_ROWS = [("observed", N_("Observed")), ("chao2", N_("Chao2")), ("jack1", N_("First-order jackknife")),
                 ("jack2", N_("Second-order jackknife")), ("bootstrap", N_("Bootstrap"))]
TREND_WORDS = (N_("decline"), N_("increase"), N_("no clear change"), N_("unknown"))  # shown by the template
METHOD_NAMES = {"camera": N_("camera"), "transect": N_("transect"), "acoustic": N_("acoustic")}


def translator(lang: str):
    """A function ``t(message, **params)``: the report's English ``message`` in ``lang``."""
    if lang not in LANGS:
        raise ValueError(f"report language must be 'vi' or 'en', got {lang!r}")
    return TEXT.translator(lang)


def _data_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _drawable(boundary) -> bool:
    """A boundary the map can draw (checked on input since issue 17; older rows may hold anything)."""
    from ..bounds import check_boundary

    try:
        return boundary is not None and check_boundary(boundary) is not None
    except ValueError:
        return False


def map_figure(data: ReportData, t, lang: str = "en") -> Figure:
    """Scatter map of stations, transect lines and threats (lon/lat, equal-area-ish aspect)."""
    fig = Figure(figsize=(6.4, 4.6))
    ax = fig.add_subplot()
    b = data.boundary
    if _drawable(b):
        polys = [b["coordinates"]] if b["type"] == "Polygon" else b["coordinates"]
        for poly in polys:
            ring = poly[0]
            ax.plot([p[0] for p in ring], [p[1] for p in ring], color="#777", lw=1)
    for k, line in enumerate(data.transects):
        ax.plot([p[0] for p in line], [p[1] for p in line], color="#b5651d", lw=1.5,
                label=t("Transect") if k == 0 else None)
    cams = [s for s in data.stations if s["kind"] == "camera"]
    recs = [s for s in data.stations if s["kind"] == "acoustic"]
    if cams:
        sizes = [20 + 4 * math.sqrt(max(0.0, s["trap_nights"])) for s in cams]
        ax.scatter([s["lon"] for s in cams], [s["lat"] for s in cams], s=sizes, marker="^", color="#1f5f3a",
                   label=t("Camera trap"), zorder=3)
    if recs:
        ax.scatter([s["lon"] for s in recs], [s["lat"] for s in recs], s=30, marker="s", color="#2b6cb0",
                   label=t("Acoustic recorder"), zorder=3)
    if data.threat_points:
        ax.scatter([p[0] for p in data.threat_points], [p[1] for p in data.threat_points], s=30, marker="x",
                   color="#c53030", label=t("Threat"), zorder=4)
    lats = [s["lat"] for s in data.stations] + [p[1] for p in data.threat_points]
    if lats:
        ax.set_aspect(1 / max(0.2, math.cos(math.radians(sum(lats) / len(lats)))))
    if data.stations:  # zoomed to the stations (the boundary may reach far beyond them), at least ~2 km wide
        lons = [s["lon"] for s in data.stations]
        lats_ = [s["lat"] for s in data.stations]
        pad_x = max(0.01, (max(lons) - min(lons)) * 0.15)
        pad_y = max(0.01, (max(lats_) - min(lats_)) * 0.15)
        ax.set_xlim(min(lons) - pad_x, max(lons) + pad_x)
        ax.set_ylim(min(lats_) - pad_y, max(lats_) + pad_y)
    draw_basemap(ax, getattr(data, "basemap", None))
    place_labels(fig, ax, [(s["name"], s["lon"], s["lat"]) for s in data.stations])
    localise_axes(ax, lang)
    ax.set_xlabel(t("Longitude"))
    ax.set_ylabel(t("Latitude"))
    ax.grid(alpha=0.3)
    if cams or recs or data.transects or data.threat_points:
        ax.legend(fontsize=7, loc="best")
    ax.set_title(t("Stations and transects"))
    return fig


def draw_basemap(ax, info: dict | None) -> bool:
    """The area's offline basemap (the MBTiles file a manager uploaded) under what ``ax`` shows.

    The tiles under the axes' current extent are read from the stored file (server/sync/basemaps.py,
    no network) and drawn beneath everything else; the extent and aspect stay as they were. The
    file's attribution, when it has one, is written in the corner. Returns whether a picture was drawn.
    """
    if not info:
        return False
    from ..sync.basemaps import mosaic

    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    aspect = ax.get_aspect()
    try:
        got = mosaic(info, [min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)])
    except (OSError, ValueError, KeyError, sqlite3.Error) as e:  # a damaged or removed file: no background
        import logging

        logging.getLogger(__name__).warning("report map drawn without its basemap: %s", e)
        return False
    if got is None:
        return False
    picture, extent = got
    ax.imshow(picture, extent=extent, zorder=0, interpolation="bilinear")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(aspect)
    if info.get("attribution"):
        ax.text(0.995, 0.005, str(info["attribution"])[:120], transform=ax.transAxes, fontsize=5, ha="right",
                va="bottom", color="#333", bbox={"facecolor": "white", "alpha": 0.6, "lw": 0, "pad": 1}, zorder=6)
    return True


#: Offsets (points) tried for a station's name, nearest first: right, left, above, below, diagonals.
_LABEL_OFFSETS = [(4, -3), (-4, -3), (0, 5), (0, -9), (4, 4), (-4, 4), (4, -10), (-4, -10),
                  (10, -3), (-10, -3), (0, 12), (0, -16)]


def place_labels(fig: Figure, ax, labels: list[tuple[str, float, float]], fontsize: float = 6) -> list:
    """Station names next to their markers without overlapping each other: each name takes the first
    offset whose box meets no name placed before (greedy, as map labelling does); a name that fits
    nowhere is left out rather than drawn over another. Returns the text artists."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if hasattr(fig.canvas, "get_renderer") else FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    placed: list = []
    boxes: list = []
    for name, lon, lat in labels:
        for dx, dy in _LABEL_OFFSETS:
            txt = ax.annotate(name, (lon, lat), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                              ha="left" if dx > 0 else ("right" if dx < 0 else "center"), zorder=5)
            box = txt.get_window_extent(renderer).expanded(1.05, 1.1)
            if not any(box.overlaps(b) for b in boxes):
                boxes.append(box)
                placed.append(txt)
                break
            txt.remove()
    return placed


def rai_figure(data: ReportData, t, lang: str = "en") -> Figure:
    """Horizontal bars of the RAI of each species recorded by the cameras."""
    rows = sorted((s for s in data.species if s.rai), key=lambda s: s.rai)
    fig = Figure(figsize=(6.4, max(2.0, 0.3 * len(rows) + 1)))
    ax = fig.add_subplot()
    ax.barh([s.taxon.scientific_name for s in rows], [s.rai for s in rows], color="#6b8f71")
    ax.set_xlabel("RAI")
    ax.set_title(t("Relative abundance index (RAI)"))
    ax.tick_params(axis="y", labelsize=7)
    localise_axes(ax, lang, "x")
    return fig


def trend_figure(data: ReportData, t, lang: str = "en") -> Figure:
    """Smoothed occupancy per year with its 95% interval, one line per priority species."""
    fig = Figure(figsize=(6.4, 3.4))
    ax = fig.add_subplot()
    for tr in data.monitoring.trends:
        xs = [int(s["season"]) for s in tr["seasons"]]
        ys = [s["estimate"] for s in tr["seasons"]]
        lo = [s["estimate"] - (s["lower"] if s["lower"] is not None else s["estimate"]) for s in tr["seasons"]]
        hi = [(s["upper"] if s["upper"] is not None else s["estimate"]) - s["estimate"] for s in tr["seasons"]]
        ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", ms=4, capsize=3, label=tr["species"])
    ax.set_ylim(0, 1)
    ax.set_xticks(data.monitoring.trend_years)
    ax.set_ylabel(t("Occupancy"))
    ax.set_title(t("Occupancy trend"))
    localise_axes(ax, lang, "y")  # years stay as they are written
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return fig


def render_template(name: str, lang: str, **context) -> str:
    """A report template of this folder rendered in ``lang`` with ``t`` (the report's catalogue) and ``num``
    (numbers as the language writes them); shared by the annual and the national synthesis reports."""
    t = translator(lang)
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))
    return env.get_template(name).render(t=t, num=_numbers(lang), lang=lang, **context)


def data_uri(fig: Figure) -> str:
    """A figure as a PNG data URI (reports are one self-contained file)."""
    return _data_uri(fig)


def render_html(data: ReportData, lang: str = "vi", min_delta_min: float = 60.0) -> str:
    """The report as one self-contained HTML document."""
    t = translator(lang)
    figures = {"map": _data_uri(map_figure(data, t, lang))}
    if any(s.rai for s in data.species):
        figures["rai"] = _data_uri(rai_figure(data, t, lang))
    if data.records:
        figures["diel"] = _data_uri(diel_activity_figure(data.records, lang=lang))
    if data.accumulation:
        figures["accumulation"] = _data_uri(accumulation_figure(data.accumulation, "station", lang))
    if data.monitoring is not None and data.monitoring.trends:
        figures["trend"] = _data_uri(trend_figure(data, t, lang))
    from ..models import utcnow

    program = data.scope.programs[0].name if len(data.scope.programs) == 1 else t("All programs")
    effort_rows = [(label, getattr(data.effort, k), getattr(data.previous_effort, k)) for k, label in EFFORT_ROWS]
    n_now, n_prev = data.n_species, data.n_previous_species
    return render_template(
        "annual_report.html", lang, data=data, program=program, figures=figures, richness_rows=RICHNESS_ROWS, effort_rows=effort_rows, method_names=METHOD_NAMES,
        n_species=n_now, n_prev_species=n_prev, counted=data.counted(), generated=utcnow().date().isoformat(), min_delta=min_delta_min,
        area_name=(data.scope.area.name_vi or data.scope.area.name) if lang == "vi" else data.scope.area.name)


def _numbers(lang: str):
    """``num(value, decimals=None)``: a number as ``lang`` writes it (Vietnamese: 1.234,5)."""
    def num(value, decimals: int | None = None) -> str:
        if value is None or value == "":
            return ""
        if decimals is None and float(value).is_integer():
            decimals = 0
        return number_format(lang, decimals)(value)
    return num


def render_pdf(html: str) -> bytes:
    """PDF of the report HTML (WeasyPrint); RuntimeError naming the cause when WeasyPrint cannot load."""
    from PIL import ImageFile

    # Importing WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES, which would make a
    # worker that once rendered a report silently accept truncated camera-trap JPEGs at ingest.
    # Keep the setting as it was; the report only embeds images Saola drew itself.
    saved = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        import weasyprint
    except (ImportError, OSError) as e:  # pragma: no cover - missing pango system libraries
        raise RuntimeError(f"WeasyPrint cannot run here ({e}); install the pango libraries (scripts/setup.sh)") from e
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = saved
    return weasyprint.HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
