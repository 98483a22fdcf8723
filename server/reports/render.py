"""Render the annual report as HTML (Jinja) and PDF (WeasyPrint), in Vietnamese or English.

Figures are matplotlib PNGs embedded as data URIs, so the HTML is one
self-contained file and WeasyPrint needs no network or tile server.
"""
from __future__ import annotations

import base64
import io
import math
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from matplotlib.figure import Figure

from ..analytics.plots import accumulation_figure, diel_activity_figure
from .data import ReportData

LANGS = ("vi", "en")
TEMPLATES = Path(__file__).parent  # annual_report.html sits beside this module (installed as package data)

TEXT = {
    "title": ("Báo cáo giám sát đa dạng sinh học năm {year}", "Annual biodiversity monitoring report {year}"),
    "area": ("Khu bảo tồn", "Protected area"),
    "program": ("Chương trình giám sát", "Monitoring program"),
    "all_programs": ("Tất cả chương trình", "All programs"),
    "generated": ("Ngày lập", "Generated"),
    "summary": ("Tóm tắt", "Summary"),
    "summary_text": ("Năm {year} ghi nhận {n} loài ({new} loài mới cho khu bảo tồn) với {tn} đêm bẫy ảnh, "
                     "{km} km tuyến điều tra và {hours} giờ ghi âm.",
                     "In {year}, {n} species were recorded ({new} new for the protected area) over {tn} "
                     "camera trap-nights, {km} km of transects and {hours} hours of sound recordings."),
    "effort": ("1. Nỗ lực điều tra", "1. Survey effort"),
    "measure": ("Chỉ tiêu", "Measure"),
    "prev_year": ("Năm {year}", "{year}"),
    "change": ("Thay đổi", "Change"),
    "camera_stations": ("Số điểm đặt bẫy ảnh", "Camera-trap stations"),
    "camera_deployments": ("Số lượt đặt bẫy ảnh", "Camera deployments"),
    "trap_nights": ("Số đêm bẫy", "Trap-nights"),
    "walks": ("Số lượt đi tuyến", "Transect walks"),
    "km": ("Số km đã đi", "Kilometres walked"),
    "recorders": ("Số máy ghi âm", "Acoustic recorders"),
    "recording_hours": ("Số giờ ghi âm", "Recording hours"),
    "inventory": ("2. Danh lục loài ghi nhận", "2. Species inventory"),
    "scientific": ("Tên khoa học", "Scientific name"),
    "vietnamese": ("Tên tiếng Việt", "Vietnamese name"),
    "english": ("Tên tiếng Anh", "English name"),
    "iucn": ("IUCN", "IUCN"),
    "vnrl": ("Sách Đỏ VN", "VN Red List"),
    "d84": ("NĐ 84/2021", "Decree 84/2021"),
    "methods": ("Phương pháp", "Methods"),
    "events": ("Sự kiện độc lập", "Independent events"),
    "rai": ("RAI", "RAI"),
    "transect_records": ("Ghi nhận trên tuyến", "Transect records"),
    "sound": ("Phát hiện âm thanh", "Sound detections"),
    "camera": ("bẫy ảnh", "camera"),
    "transect": ("tuyến", "transect"),
    "acoustic": ("âm thanh", "acoustic"),
    "new": ("mới", "new"),
    "sensitive_note": ("* Loài nhạy cảm: vị trí chính xác không được công bố trong dữ liệu công khai.",
                       "* Sensitive species: exact locations are withheld from public data."),
    "rai_note": ("RAI: số sự kiện độc lập trên 100 đêm bẫy (cách nhau ít nhất {delta} phút).",
                 "RAI: independent events per 100 trap-nights (at least {delta} minutes apart)."),
    "new_species": ("3. Loài mới ghi nhận cho khu bảo tồn", "3. Species new for the protected area"),
    "none": ("Không có.", "None."),
    "comparison": ("4. So sánh với năm trước", "4. Comparison with the previous year"),
    "species_recorded": ("Số loài ghi nhận", "Species recorded"),
    "figures": ("5. Bản đồ và biểu đồ", "5. Maps and figures"),
    "map": ("Bản đồ các điểm đặt máy và tuyến điều tra", "Stations and transects"),
    "rai_chart": ("Chỉ số phong phú tương đối (RAI)", "Relative abundance index (RAI)"),
    "diel": ("Hoạt động theo giờ trong ngày", "Diel activity"),
    "accumulation": ("Đường cong tích lũy loài", "Species accumulation"),
    "threats": ("6. Mối đe dọa và cảnh báo", "6. Threats and alerts"),
    "threat_records": ("Ghi nhận mối đe dọa", "Threat records"),
    "alerts": ("Cảnh báo âm thanh", "Acoustic alerts"),
    "kind": ("Loại", "Kind"),
    "count": ("Số lượng", "Count"),
    "max_conf": ("Độ tin cậy cao nhất", "Highest confidence"),
    "species_col": ("Loài", "Species"),
    "longitude": ("Kinh độ", "Longitude"),
    "latitude": ("Vĩ độ", "Latitude"),
    "camera_legend": ("Bẫy ảnh", "Camera trap"),
    "acoustic_legend": ("Máy ghi âm", "Acoustic recorder"),
    "transect_legend": ("Tuyến", "Transect"),
    "threat_legend": ("Mối đe dọa", "Threat"),
    "page": ("Trang", "Page"),
}


def translator(lang: str):
    """A function key -> text in ``lang`` (format arguments allowed)."""
    if lang not in LANGS:
        raise ValueError(f"report language must be 'vi' or 'en', got {lang!r}")
    i = LANGS.index(lang)

    def t(key: str, **kw) -> str:
        text = TEXT[key][i]
        return text.format(**kw) if kw else text

    return t


def _data_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def map_figure(data: ReportData, t) -> Figure:
    """Scatter map of stations, transect lines and threats (lon/lat, equal-area-ish aspect)."""
    fig = Figure(figsize=(6.4, 4.6))
    ax = fig.add_subplot()
    b = data.boundary
    if isinstance(b, dict) and b.get("type") in ("Polygon", "MultiPolygon"):
        polys = [b["coordinates"]] if b["type"] == "Polygon" else b["coordinates"]
        for poly in polys:
            ring = poly[0]
            ax.plot([p[0] for p in ring], [p[1] for p in ring], color="#777", lw=1)
    for k, line in enumerate(data.transects):
        ax.plot([p[0] for p in line], [p[1] for p in line], color="#b5651d", lw=1.5,
                label=t("transect_legend") if k == 0 else None)
    cams = [s for s in data.stations if s["kind"] == "camera"]
    recs = [s for s in data.stations if s["kind"] == "acoustic"]
    if cams:
        sizes = [20 + 4 * math.sqrt(max(0.0, s["trap_nights"])) for s in cams]
        ax.scatter([s["lon"] for s in cams], [s["lat"] for s in cams], s=sizes, marker="^", color="#1f5f3a",
                   label=t("camera_legend"), zorder=3)
        for s in cams:
            ax.annotate(s["name"], (s["lon"], s["lat"]), fontsize=6, xytext=(3, 3), textcoords="offset points")
    if recs:
        ax.scatter([s["lon"] for s in recs], [s["lat"] for s in recs], s=30, marker="s", color="#2b6cb0",
                   label=t("acoustic_legend"), zorder=3)
    if data.threat_points:
        ax.scatter([p[0] for p in data.threat_points], [p[1] for p in data.threat_points], s=30, marker="x",
                   color="#c53030", label=t("threat_legend"), zorder=4)
    lats = [s["lat"] for s in data.stations] + [p[1] for p in data.threat_points]
    if lats:
        ax.set_aspect(1 / max(0.2, math.cos(math.radians(sum(lats) / len(lats)))))
    ax.set_xlabel(t("longitude"))
    ax.set_ylabel(t("latitude"))
    ax.grid(alpha=0.3)
    if cams or recs or data.transects or data.threat_points:
        ax.legend(fontsize=7, loc="best")
    ax.set_title(t("map"))
    return fig


def rai_figure(data: ReportData, t) -> Figure:
    """Horizontal bars of the RAI of each species recorded by the cameras."""
    rows = sorted((s for s in data.species if s.rai), key=lambda s: s.rai)
    fig = Figure(figsize=(6.4, max(2.0, 0.3 * len(rows) + 1)))
    ax = fig.add_subplot()
    ax.barh([s.taxon.scientific_name for s in rows], [s.rai for s in rows], color="#6b8f71")
    ax.set_xlabel("RAI")
    ax.set_title(t("rai_chart"))
    ax.tick_params(axis="y", labelsize=7)
    return fig


def render_html(data: ReportData, lang: str = "vi", min_delta_min: float = 60.0) -> str:
    """The report as one self-contained HTML document."""
    t = translator(lang)
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))
    figures = {"map": _data_uri(map_figure(data, t))}
    if any(s.rai for s in data.species):
        figures["rai"] = _data_uri(rai_figure(data, t))
    if data.records:
        figures["diel"] = _data_uri(diel_activity_figure(data.records))
    if data.accumulation:
        figures["accumulation"] = _data_uri(accumulation_figure(data.accumulation, "station"))
    from ..models import utcnow

    program = data.scope.programs[0].name if len(data.scope.programs) == 1 else t("all_programs")
    effort_rows = [(k, getattr(data.effort, k), getattr(data.previous_effort, k)) for k in (
        "camera_stations", "camera_deployments", "trap_nights", "walks", "km", "recorders", "recording_hours")]
    n_now = sum(1 for s in data.species if s.methods)
    n_prev = sum(1 for s in data.species if s.previous_camera_events or s.previous_transect_records)
    return env.get_template("annual_report.html").render(
        t=t, lang=lang, data=data, program=program, figures=figures, effort_rows=effort_rows,
        n_species=n_now, n_prev_species=n_prev, generated=utcnow().date().isoformat(), min_delta=min_delta_min,
        area_name=(data.scope.area.name_vi or data.scope.area.name) if lang == "vi" else data.scope.area.name)


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
