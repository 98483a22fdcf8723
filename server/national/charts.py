"""Charts of the national views (PNG through matplotlib's object API, as server/analytics/plots.py):
effort per area, and the network's naive occupancy of the priority species per year. Texts in the
language asked (server catalogue), numbers in its format (Vietnamese decimal comma)."""
from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..analytics.plots import _png, chart_text, localise_axes
from .dashboard import NationalSummary

CHARTS = ("effort", "priority-trend", "species")
MOST_TREND_SPECIES = 6


def area_label(area, lang: str) -> str:
    """An area as the charts and tables name it: its code, and its name in the language."""
    return f"{area.code} · {(area.name_vi or area.name) if lang == 'vi' else area.name}"


def effort_figure(s: NationalSummary, lang: str = "en") -> Figure:
    """Trap-nights and recorder-days of each area in the year (grouped horizontal bars)."""
    t = chart_text(lang)
    fig = Figure(figsize=(6.4, max(2.2, 0.5 * len(s.areas) + 1.2)))
    ax = fig.add_subplot()
    names = [a.area.code for a in s.areas][::-1]
    ys = range(len(names))
    cam = [a.years[s.year].trap_nights for a in s.areas][::-1]
    rec = [a.years[s.year].recorder_days for a in s.areas][::-1]
    ax.barh([y + 0.2 for y in ys], cam, height=0.4, color="#6b8f71", label=t("Trap-nights"))
    ax.barh([y - 0.2 for y in ys], rec, height=0.4, color="#c2a35a", label=t("Recorder-days"))
    ax.set_yticks(list(ys), names)
    ax.set_title(t("Effort by protected area, {year}", year=s.year))
    localise_axes(ax, lang, "x")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, axis="x")
    return fig


def priority_trend_figure(s: NationalSummary, lang: str = "en") -> Figure:
    """Naive occupancy of the network's priority species per year (stations detected / stations with effort)."""
    t = chart_text(lang)
    fig = Figure(figsize=(6.4, 3.4))
    ax = fig.add_subplot()
    for name in s.priority_names()[:MOST_TREND_SPECIES]:
        pts = [(y, v) for y in s.years if (v := s.network_priority(name, y).naive_occupancy) is not None]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=4, label=name)
    ax.set_ylim(0, 1)
    ax.set_xticks(s.years)
    ax.set_ylabel(t("Naive occupancy"))
    ax.set_title(t("Priority species: naive occupancy by year"))
    localise_axes(ax, lang, "y")  # years stay as they are written
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    return fig


def species_figure(s: NationalSummary, lang: str = "en") -> Figure:
    """Species recorded in each area in each year shown (lines), and in the whole network."""
    t = chart_text(lang)
    fig = Figure(figsize=(6.4, 3.4))
    ax = fig.add_subplot()
    for a in s.areas:
        ax.plot(s.years, [a.years[y].n_species for y in s.years], marker="o", ms=4, label=a.area.code)
    ax.plot(s.years, [s.n_species(y) for y in s.years], marker="s", ms=4, color="black", lw=2, label=t("Network"))
    ax.set_xticks(s.years)
    ax.set_ylabel(t("Species"))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # species are whole
    ax.set_title(t("Species recorded by year"))
    localise_axes(ax, lang, "y")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return fig


def chart_png(name: str, s: NationalSummary, lang: str = "en") -> bytes:
    """The PNG of chart ``name`` (one of :data:`CHARTS`)."""
    draw = {"effort": effort_figure, "priority-trend": priority_trend_figure, "species": species_figure}[name]
    return _png(draw(s, lang))
