"""PNG plots of the analyses (matplotlib's object API: no pyplot global state, safe in web threads).

Every text of a chart is in the language asked (``lang``: the server's catalogue, server/locale)
and its numbers are written as that language writes them (babel.numbers: Vietnamese has a
decimal comma and a dot between thousands, 30,38 and 1.234).
"""
from __future__ import annotations

import io
from typing import Callable

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from sqlmodel import Session

from ..errors import ValidationError
from . import camtrap
from .registry import Options, _records, run

PLOTS = ("diel-activity", "species-accumulation", "distance-histogram", "detections-per-hour", "rai",
         "acoustic-indices", "occupancy", "overlap", "richness")


def chart_text(lang: str = "en") -> Callable[..., str]:
    """``t(message, **params)``: a chart's English text in ``lang`` (vi or en)."""
    from ..i18n import TEXT

    return TEXT.translator(lang if lang in ("vi", "en") else "en")


def number_format(lang: str = "en", decimals: int | None = None) -> Callable[[float], str]:
    """A number as ``lang`` writes it (babel.numbers): ``decimals`` fixed, else up to three (server/i18n.py)."""
    from ..i18n import number_format as fmt

    return fmt(lang if lang in ("vi", "en") else "en", decimals)


def localise_axes(ax, lang: str, axes: str = "xy") -> None:
    """Tick labels of ``axes`` in the language's number format (decimal comma in Vietnamese)."""
    fmt = number_format(lang)
    formatter = FuncFormatter(lambda v, _pos: fmt(round(v, 6)))
    if "x" in axes:
        ax.xaxis.set_major_formatter(formatter)
    if "y" in axes:
        ax.yaxis.set_major_formatter(formatter)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def diel_activity_figure(rows: list[camtrap.RecordRow], species: str | None = None, lang: str = "en") -> Figure:
    """Histogram of records by hour with a circular kernel density line (camtrapR activityDensity-like)."""
    t = chart_text(lang)
    fig = Figure(figsize=(6, 3.2))
    ax = fig.add_subplot()
    bins = camtrap.diel_activity(rows, species)
    total = sum(b["records"] for b in bins) or 1
    ax.bar([b["hour_from"] + 0.5 for b in bins], [b["records"] / total for b in bins], width=0.9, color="#9bb7a4",
           label=t("records (share)"))
    xs, ys = zip(*camtrap.activity_density(rows, species))
    ax.plot(xs, ys, color="#1f5f3a", lw=2, label=t("kernel density"))
    ax.set_xlim(0, 24)
    ax.set_xticks(range(0, 25, 3))
    ax.set_xlabel(t("hour of day (local time)"))
    ax.set_ylabel(t("density"))
    n = number_format(lang)(sum(b["records"] for b in bins))
    ax.set_title(t("Diel activity: {species} (n={n})", species=species, n=n) if species
                 else t("Diel activity (n={n})", n=n))
    ax.legend(fontsize=7, loc="upper right")
    localise_axes(ax, lang, "y")
    return fig


def accumulation_figure(curve: list[dict], unit: str, lang: str = "en") -> Figure:
    """Line plot of the species accumulation curve."""
    t = chart_text(lang)
    fig = Figure(figsize=(6, 3.2))
    ax = fig.add_subplot()
    ax.plot([c["units"] for c in curve], [c["richness"] for c in curve], marker="o", ms=3, color="#1f5f3a")
    ax.set_xlabel(t("days surveyed") if unit == "day" else t("stations surveyed"))
    ax.set_ylabel(t("expected species"))
    ax.set_title(t("Species accumulation"))
    ax.grid(alpha=0.3)
    localise_axes(ax, lang)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole stations or days
    return fig


def bar_figure(labels: list, values: list, xlabel: str, ylabel: str, title: str, lang: str = "en") -> Figure:
    """Vertical bars for numeric labels (bins, hours), horizontal bars for names (texts already translated)."""
    fig = Figure(figsize=(6, 3.2 if len(labels) < 12 else 0.25 * len(labels) + 1))
    ax = fig.add_subplot()
    if all(isinstance(x, (int, float)) for x in labels):
        ax.bar(labels, values, width=(labels[1] - labels[0]) * 0.9 if len(labels) > 1 else 0.8, color="#6b8f71",
               align="edge")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        localise_axes(ax, lang)
    else:
        ax.barh([str(x) for x in labels][::-1], values[::-1], color="#6b8f71")
        ax.set_xlabel(ylabel)
        localise_axes(ax, lang, "x")
    ax.set_title(title)
    return fig


def occupancy_figure(table, lang: str = "en") -> Figure:
    """Single-season: occupancy per species with its interval; across years: smoothed occupancy per year."""
    t = chart_text(lang)
    fig = Figure(figsize=(6.4, 3.4))
    ax = fig.add_subplot()
    rows = [r for r in table.rows if not r.get("error")]
    if rows and "season" in rows[0]:
        for sp in dict.fromkeys(r["species"] for r in rows):
            rs = [r for r in rows if r["species"] == sp]
            xs = [int(r["season"]) for r in rs]
            ys = [r["smoothed"] for r in rs]
            err = [[y - (r["smoothed_lower"] if r["smoothed_lower"] is not None else y) for y, r in zip(ys, rs)],
                   [(r["smoothed_upper"] if r["smoothed_upper"] is not None else y) - y for y, r in zip(ys, rs)]]
            ax.errorbar(xs, ys, yerr=err, marker="o", ms=4, capsize=3, label=sp)
        ax.set_xticks(sorted({int(r["season"]) for r in rows}))
        ax.set_ylabel(t("occupancy (smoothed, 95% CI)"))
        localise_axes(ax, lang, "y")  # years stay as they are written
        ax.legend(fontsize=7)
    else:
        names = [r["species"] for r in rows][::-1]
        ys = [r["psi"] for r in rows][::-1]
        err = [[y - (r["psi_lower"] if r["psi_lower"] is not None else y) for y, r in zip(ys, rows[::-1])],
               [(r["psi_upper"] if r["psi_upper"] is not None else y) - y for y, r in zip(ys, rows[::-1])]]
        ax.errorbar(ys, range(len(ys)), xerr=err, fmt="o", capsize=3, color="#1f5f3a", label=t("occupancy"))
        ax.scatter([r["naive_occupancy"] for r in rows][::-1], range(len(ys)), marker="x", color="#999",
                   label=t("naive occupancy"))
        ax.set_yticks(range(len(ys)), names, fontsize=7)
        ax.set_xlabel(t("occupancy (95% CI)"))
        localise_axes(ax, lang, "x")
        ax.legend(fontsize=7)
    ax.set_xlim(*(ax.get_xlim() if rows and "season" in rows[0] else (0, 1)))
    ax.grid(alpha=0.3)
    ax.set_title(t("Occupancy"))
    return fig


def overlap_figure(rows: list[camtrap.RecordRow], a: str, b: str, estimate: float | None,
                   lang: str = "en") -> Figure:
    """The two species' von Mises kernel densities over the day, their overlap shaded (overlapPlot)."""
    import numpy as np

    from ..stats import overlap as ov
    from .monitoring import activity_radians

    t = chart_text(lang)
    fig = Figure(figsize=(6.4, 3.2))
    ax = fig.add_subplot()
    grid = np.linspace(0, 2 * np.pi, 289)
    dens = []
    for sp, colour in ((a, "#1f5f3a"), (b, "#b5651d")):
        x = activity_radians(rows, sp)
        d = ov.density_fit(x, grid, ov.bandwidth(x)) * 2 * np.pi / 24  # per hour
        dens.append(d)
        ax.plot(grid * 24 / (2 * np.pi), d, color=colour, lw=2, label=t("{species} (n={n})", species=sp, n=x.size))
    ax.fill_between(grid * 24 / (2 * np.pi), np.minimum(*dens), color="#999", alpha=0.4,
                    label=t("overlap {value}", value=number_format(lang, 2)(estimate)) if estimate is not None
                    else t("overlap"))
    ax.set_xlim(0, 24)
    ax.set_xticks(range(0, 25, 3))
    ax.set_xlabel(t("hour of day (local time)"))
    ax.set_ylabel(t("density"))
    localise_axes(ax, lang)
    ax.set_title(t("Activity overlap"))
    ax.legend(fontsize=7)
    return fig


def richness_figure(table, lang: str = "en") -> Figure:
    """Exact species accumulation with its 95% band and the Chao2 estimate with its interval."""
    t = chart_text(lang)
    acc = table.notes["accumulation"]
    fig = Figure(figsize=(6.4, 3.2))
    ax = fig.add_subplot()
    ax.plot(acc["sites"], acc["richness"], color="#1f5f3a", label=t("species accumulation"))
    ax.fill_between(acc["sites"], acc["lower"], acc["upper"], color="#9bb7a4", alpha=0.5)
    chao = {r["estimator"]: r for r in table.rows}["chao2"]
    ax.axhline(chao["estimate"], color="#b5651d", ls="--",
               label=t("Chao2 {value}", value=number_format(lang, 1)(chao["estimate"])))
    if chao["lower"] is not None:
        ax.axhspan(chao["lower"], chao["upper"], color="#b5651d", alpha=0.12)
    ax.set_xlabel(t("camera stations"))
    ax.set_ylabel(t("species"))
    localise_axes(ax, lang)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole stations
    ax.set_title(t("Species richness"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return fig


def plot(session: Session, name: str, program_ids: list[str], options: Options | None = None,
         lang: str = "en") -> bytes:
    """The PNG of analysis ``name`` (one of PLOTS), its texts and numbers in ``lang``."""
    o = options or Options()
    t = chart_text(lang)
    if name == "diel-activity":
        return _png(diel_activity_figure(_records(session, program_ids, o), o.species, lang))
    if name == "species-accumulation":
        return _png(accumulation_figure(run(session, name, program_ids, o).rows, o.unit, lang))
    if name == "distance-histogram":
        rows = run(session, name, program_ids, o).rows
        return _png(bar_figure([r["from_m"] for r in rows], [r["count"] for r in rows],
                               t("perpendicular distance (m)"), t("sightings"), t("Perpendicular distances"), lang))
    if name == "detections-per-hour":
        rows = run(session, name, program_ids, o).rows
        hours = [0] * 24
        for r in rows:
            hours[r["hour"]] += r["detections"]
        return _png(bar_figure(list(range(24)), hours, t("hour of day"), t("detections"),
                               t("Sound detections per hour"), lang))
    if name == "rai":
        rows = run(session, name, program_ids, Options(**{**o.__dict__, "by_station": False})).rows
        return _png(bar_figure([r["species"] for r in rows], [r["rai"] or 0 for r in rows], "", "RAI",
                               t("Independent events per 100 trap-nights"), lang))
    if name == "acoustic-indices":
        rows = run(session, name, program_ids, o).rows
        fig = Figure(figsize=(6, 3.2))
        ax = fig.add_subplot()
        for station in sorted({r["station"] for r in rows}):
            pts = [(r[o.period], r["aci"]) for r in rows if r["station"] == station and r["aci"] is not None]
            if pts:
                ax.plot([str(p[0]) for p in pts], [p[1] for p in pts], marker="o", ms=3, label=station)
        ax.set_ylabel(t("ACI (mean)"))
        ax.set_title(t("Acoustic complexity index"))
        ax.tick_params(axis="x", labelrotation=60, labelsize=6)
        localise_axes(ax, lang, "y")
        if rows:
            ax.legend(fontsize=7)
        return _png(fig)
    if name == "occupancy":
        return _png(occupancy_figure(run(session, name, program_ids, o), lang))
    if name == "overlap":
        t = run(session, name, program_ids, o)
        rec = {r["estimator"]: r for r in t.rows if r["recommended"]}
        est = next(iter(rec.values()))["estimate"] if rec else None
        return _png(overlap_figure(_records(session, program_ids, o), o.species or "", o.species_b or "", est, lang))
    if name == "richness":
        return _png(richness_figure(run(session, name, program_ids, o), lang))
    raise ValidationError(f"no plot for {name!r}; plots exist for {', '.join(PLOTS)}")
