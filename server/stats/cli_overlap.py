"""``saola stats overlap A.csv B.csv [--format json|text] [--bootstrap N]``: activity overlap of two
samples of times of day, with the R package overlap's estimators (see :mod:`server.stats.overlap`).

Each CSV has a column ``radians`` (0 to 2 pi, as overlap takes them) or ``time`` (HH:MM or
HH:MM:SS, local clock time); other columns are ignored, empty cells skipped.
"""
from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path
from typing import Callable

import click

from ..cli.common import fail

_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?$")


def clock_to_radians(value: str) -> float:
    """'HH:MM[:SS]' -> radians of the day (00:00 is 0, 12:00 is pi); ValueError for anything else."""
    m = _TIME.match(value.strip())
    if not m:
        raise ValueError(f"{value!r} is not a time HH:MM or HH:MM:SS")
    h, mi, sec = int(m.group(1)), int(m.group(2)), float(m.group(3) or 0)
    if h > 23 or mi > 59 or sec >= 60:
        raise ValueError(f"{value!r} is not a time of day (00:00 to 23:59:59)")
    return (h * 3600 + mi * 60 + sec) / 86400 * 2 * math.pi


def read_times(path: Path) -> list[float]:
    """Times in radians from a CSV's ``radians`` or ``time`` column; ValueError naming file and line."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        cols = {(c or "").strip().lower(): c for c in reader.fieldnames or []}
        convert: Callable[[str], float]
        if "radians" in cols:
            col, convert = cols["radians"], float
        elif "time" in cols:
            col, convert = cols["time"], clock_to_radians
        else:
            raise ValueError(f"{path.name}: needs a column 'radians' or 'time' (HH:MM[:SS]); found "
                             f"{', '.join(repr(c) for c in cols) or 'no header'}")
        out = []
        for line, row in enumerate(reader, start=2):
            raw = (row.get(col) or "").strip()
            if not raw or raw.upper() == "NA":
                continue
            try:
                v = convert(raw)
            except ValueError as e:
                raise ValueError(f"{path.name} line {line}: {e if convert is not float else repr(raw) + ' is not a number'}"
                                 ) from None
            if convert is float and not (math.isfinite(v) and 0 <= v <= 2 * math.pi):
                raise ValueError(f"{path.name} line {line}: {raw} is not a time in radians (0 to 2*pi)")
            out.append(v)
    if not out:
        raise ValueError(f"{path.name}: no times")
    return out


def _fmt(v) -> str:
    return "NA" if v is None else f"{v:.4f}"


def as_text(res, name_a: str, name_b: str) -> str:
    """A short report for people: sizes, bandwidths, the three estimates, the intervals, the notes."""
    lines = ["Activity overlap (coefficient of overlapping; estimators of the R package overlap)",
             f"  A: {name_a}  n = {res.n_a}  bandwidth (von Mises concentration) = {res.bandwidth_a:.4f}",
             f"  B: {name_b}  n = {res.n_b}  bandwidth (von Mises concentration) = {res.bandwidth_b:.4f}",
             "  " + "  ".join(f"{k.capitalize()} = {_fmt(v)}" for k, v in res.estimates.items()),
             f"  Recommended: {res.recommended.capitalize()} = {_fmt(res.estimates[res.recommended])} "
             "(Dhat4 when the smaller sample is above 75, else Dhat1)"]
    if res.bootstrap:
        lines.append(f"  Smoothed bootstrap: {res.bootstrap} resamples (seed {res.seed}), "
                     f"{res.conf:.0%} intervals (basic0 recommended)")
        for est, cis in res.ci.items():
            parts = [f"{t} {_fmt(v[0])}-{_fmt(v[1])}" if v else f"{t} NA" for t, v in cis.items()]
            lines.append(f"    {est.capitalize()}: mean {_fmt(res.boot_mean.get(est))}; " + "; ".join(parts))
    for n in res.notes:
        lines.append(f"  Note: {n['message']}")
    return "\n".join(lines) + "\n"


@click.command("overlap")
@click.argument("a_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("b_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text", show_default=True)
@click.option("--bootstrap", type=click.IntRange(0, 100_000), default=0, show_default=True,
              help="Smoothed bootstrap resamples for confidence intervals (10,000 recommended).")
@click.option("--seed", type=int, default=None, help="Random seed (reproducible bootstrap).")
@click.option("--conf", type=click.FloatRange(0.5, 0.999), default=0.95, show_default=True,
              help="Confidence level of the intervals.")
def overlap_cmd(a_csv: Path, b_csv: Path, fmt: str, bootstrap: int, seed: int | None, conf: float):
    """Coefficients of overlapping Dhat1, Dhat4, Dhat5 of two samples of times of day (columns
    'radians' or 'time' HH:MM[:SS]), with bandwidths and, with --bootstrap N, smoothed-bootstrap intervals."""
    from .overlap import OverlapInputError, analyse

    try:
        a, b = read_times(a_csv), read_times(b_csv)
        res = analyse(a, b, bootstrap=bootstrap, seed=seed, conf=conf)
    except OverlapInputError as e:
        fail(str(e).replace("sample A", a_csv.name).replace("sample B", b_csv.name))
    except ValueError as e:
        fail(str(e))
    if fmt == "json":
        click.echo(json.dumps(res.to_json(), indent=1))
    else:
        click.echo(as_text(res, a_csv.name, b_csv.name), nl=False)
