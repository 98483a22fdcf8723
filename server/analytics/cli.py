"""``saola analytics NAME --program ID [options] [--out FILE.csv]``: one subcommand per analysis."""
from __future__ import annotations

from pathlib import Path

import click

from ..cli.common import fail, get_app, read_session, session_for
from .camtrap import COMPARED_TO, CONVENTIONS
from .registry import ANALYSES


def _options(fn):
    opts = [
        click.option("--program", "program_id", default=None, help="Program id."),
        click.option("--area", default=None, help="Protected area code or id (all its programs)."),
        click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Write to this file (.csv or .json) instead of standard output."),
        click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default=None,
                     help="Output format (default: from --out, else csv)."),
        click.option("--plot", "plot_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Also draw the plot (PNG) where the analysis has one."),
        click.option("--min-delta", type=click.FloatRange(0), default=60.0, show_default=True,
                     help="Minutes between independent records of a species at a station."),
        click.option("--compared-to", type=click.Choice(COMPARED_TO), default=COMPARED_TO[0], show_default=True,
                     help="Independence measured from the last record or the last independent record."),
        click.option("--occasion-length", type=click.IntRange(1), default=1, show_default=True, help="Days."),
        click.option("--day1", type=click.Choice(["station", "survey"]), default="station", show_default=True,
                     help="Occasions start at each station's setup or at the survey start."),
        click.option("--no-effort", is_flag=True, help="Occasions with any inactive day are NA (camtrapR "
                                                        "includeEffort = FALSE)."),
        click.option("--output", type=click.Choice(["binary", "count"]), default="binary", show_default=True),
        click.option("--species", default=None, help="Scientific name (detection history, diel activity...)."),
        click.option("--convention", type=click.Choice(list(CONVENTIONS)), default=None,
                     help="Camera operation: exact (date-times, camtrapR >= 2.1; the default), noon (dates only, "
                          "setup and retrieval at 12:00 = 0.5, camtrapR >= 2.1 given dates), whole-days (every day "
                          "from setup to retrieval 1, camtrapR < 2.1). Outputs name the one used."),
        click.option("--whole-days", is_flag=True, help="Same as --convention whole-days (camtrapR < 2.1; not "
                                                         "camtrapR's current date-only form, which is noon)."),
        click.option("--keep-duplicates", is_flag=True,
                     help="Keep records of a species at a station at the same second (camtrapR "
                          "removeDuplicateRecords = FALSE)."),
        click.option("--video", is_flag=True, help="Videos are records too (camtrapR's video argument; off by "
                                                    "default)."),
        click.option("--include-machine", is_flag=True,
                     help="Also count machine species labels no one has reviewed."),
        click.option("--min-confidence", type=click.FloatRange(0, 1), default=0.0),
        click.option("--by-station", is_flag=True, help="RAI per species and station."),
        click.option("--unit", type=click.Choice(["station", "day"]), default="station", show_default=True,
                     help="Sampling unit of the species accumulation curve."),
        click.option("--bin", "bin_m", type=click.FloatRange(0, min_open=True), default=10.0, show_default=True,
                     help="Distance histogram bin width (m)."),
        click.option("--truncation", "truncation_m", type=click.FloatRange(0), default=None,
                     help="Leave out perpendicular distances beyond this (m)."),
        click.option("--direct-only", is_flag=True, help="Encounter rates of direct sightings only (no signs)."),
        click.option("--period", type=click.Choice(["day", "hour"]), default="day", show_default=True),
        click.option("--year", type=int, default=None, help="Only this calendar year (local time)."),
        click.option("--start", default=None, help="First day (YYYY-MM-DD)."),
        click.option("--end", default=None, help="Last day (YYYY-MM-DD)."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _stats_options(fn):
    """Options of the monitoring statistics (occupancy, overlap, richness, ai-evaluation)."""
    opts = [
        click.option("--model", type=click.Choice(["single", "dynamic"]), default="single", show_default=True,
                     help="occupancy: one season, or across the years (colonisation and extinction)."),
        click.option("--psi", default="~ 1", show_default=True,
                     help="occupancy: occupancy formula, e.g. '~ elevation + habitat'."),
        click.option("--p", "p_formula", default="~ 1", show_default=True,
                     help="occupancy: detection formula, e.g. '~ effort'."),
        click.option("--gamma", default="~ 1", show_default=True, help="occupancy --model dynamic: colonisation."),
        click.option("--epsilon", default="~ 1", show_default=True, help="occupancy --model dynamic: extinction."),
        click.option("--species-b", default=None, help="overlap: the second species (scientific name)."),
        click.option("--bootstrap", type=click.IntRange(0, 100_000), default=1000, show_default=True,
                     help="overlap: smoothed bootstrap resamples (0: none)."),
        click.option("--seed", type=int, default=1, show_default=True, help="Random seed (bootstraps)."),
        click.option("--level", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.95,
                     show_default=True, help="Confidence level of intervals."),
        click.option("--method", type=click.Choice(["exact", "random"]), default="exact", show_default=True,
                     help="richness: species accumulation method (vegan specaccum)."),
        click.option("--permutations", type=click.IntRange(2, 10_000), default=100, show_default=True,
                     help="richness --method random: random orders of the stations."),
        click.option("--target-precision", type=click.FloatRange(0, 1, min_open=True), default=0.95,
                     show_default=True, help="ai-evaluation: precision each label's threshold must reach."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _make(name: str, help_text: str) -> click.Command:
    @click.command(name, help=help_text + ".")
    @_options
    @_stats_options
    def cmd(program_id, area, out, fmt, plot_file, min_delta, compared_to, occasion_length, day1, no_effort,
            output, species, convention, whole_days, keep_duplicates, video, include_machine, min_confidence, by_station, unit, bin_m, truncation_m,
            direct_only, period, year, start, end, **stats):
        from ..errors import SaolaError
        from ..exports.common import resolve_scope
        from . import plots, registry

        try:
            o = registry.options_from({
                "min_delta": min_delta, "compared_to": compared_to, "occasion_length": occasion_length,
                "day1": day1, "include_effort": not no_effort, "output": output, "species": species,
                "fractional": not whole_days, "convention": convention or ("whole-days" if whole_days else None),
                "remove_duplicates": not keep_duplicates, "video": video, "include_machine": include_machine, "min_confidence": min_confidence,
                "by_station": by_station, "unit": unit, "bin_m": bin_m, "truncation_m": truncation_m,
                "signs": not direct_only, "period": period, "year": year, "start": start, "end": end,
                **{("p" if k == "p_formula" else k): v for k, v in stats.items()}})
            with read_session(get_app()) as s:
                scope = resolve_scope(s, program_id, area)
                table = registry.run(s, name, scope.program_ids, o)
                png = plots.plot(s, name, scope.program_ids, o) if plot_file else None
        except SaolaError as e:
            fail(e.message)
        fmt = fmt or ("json" if out is not None and out.suffix.lower() == ".json" else "csv")
        text = registry.to_json_text(table) if fmt == "json" else table.to_csv()
        if out is None:
            click.echo(text, nl=False)
        else:
            out.write_text(text, encoding="utf-8")
            click.echo(f"{out}: {len(table.rows)} row(s)", err=True)
        if png is not None:
            plot_file.write_bytes(png)
            click.echo(f"{plot_file}: plot written", err=True)

    return cmd


@click.group("analytics")
def analytics_group():
    """camtrapR-grade analyses, line-transect and acoustic summaries, as CSV or JSON."""


for _name, (_fn, _help) in ANALYSES.items():
    analytics_group.add_command(_make(_name, _help))


@click.command("check")
@click.option("--program", "program_id", default=None, help="Program id.")
@click.option("--area", default=None, help="Protected area code or id (all its programs).")
@click.option("--deployment", "deployment_ids", multiple=True, help="Only this deployment (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--record", "record", is_flag=True,
              help="Record every finding's intervals as malfunctions (effort follows); findings already recorded "
                   "and those without an interval are left as they are.")
@click.option("--check", "only", multiple=True, help="With --record: only these checks (e.g. stopped_early).")
def check_command(program_id, area, deployment_ids, fmt, record, only):
    """Camera health checks of each deployment: clock errors, dead battery or full card, knocked over or
    covered, false triggers, broken infrared flash, setup dates that disagree with the photos."""
    import json

    from ..errors import SaolaError
    from ..exports.common import resolve_scope
    from ..models import Deployment
    from ..services import health
    from .health import summary

    recorded: list[str] = []
    try:
        with (session_for(get_app()) if record else read_session(get_app())) as s:
            scope = resolve_scope(s, program_id, area)
            found = health.findings(s, scope.program_ids, list(deployment_ids) or None)
            if record:
                for f in found:
                    if f.intervals and not f.recorded and (not only or f.check in only):
                        dep = s.get(Deployment, f.deployment_id)
                        health.record_malfunction(s, dep, f.key, user="saola check", area_id=scope.area.id)
                        recorded.append(f"{f.station}: {f.check} ({len(f.intervals)} interval(s))")
                found = health.findings(s, scope.program_ids, list(deployment_ids) or None)
    except SaolaError as e:
        fail(e.message)
    if fmt == "json":
        click.echo(json.dumps({"summary": summary(found), "findings": [f.as_dict() for f in found],
                               "recorded": recorded}, ensure_ascii=False, indent=1))
        return
    if not found:
        click.echo("no findings: every camera deployment looks healthy")
    for f in found:
        state = " [recorded]" if f.recorded else ""
        click.echo(f"{f.station} ({f.deployment_id[:8]}) {f.category}/{f.check}{state}: {f.message}")
        for a, b in f.intervals[:10]:
            click.echo(f"    lost effort {a:%Y-%m-%d %H:%M} – {b:%Y-%m-%d %H:%M}")
        if len(f.intervals) > 10:
            click.echo(f"    ... {len(f.intervals) - 10} more interval(s)")
    for line in recorded:
        click.echo(f"recorded as malfunction: {line}")
    counts = ", ".join(f"{k}: {v}" for k, v in summary(found).items())
    click.echo(f"findings: {len(found)} ({counts})")


def register(main: click.Group) -> None:
    """Add ``saola analytics`` and ``saola check`` to the ``saola`` command."""
    main.add_command(analytics_group)
    main.add_command(check_command)
