"""``saola stats occupancy --y Y.csv [--site-covs S.csv] [--obs-covs NAME=FILE.csv ...] --psi "~ ..." --p "~ ..."``.

Y.csv is ``site,1,2,...,J`` with 1, 0 or empty (NA; ``NA`` is read as empty too) per
occasion; S.csv is ``site,<covariate>...``; each observation covariate file has Y.csv's
layout. A column whose values are all numbers is numeric, any other is categorical (R's
factor, first level in sorted order as reference).
"""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import click

from ..cli.common import fail

_NA = {"", "na", "nan"}


def _read(path: Path, what: str) -> tuple[list[str], list[list[str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        fail(f"{what} {path}: cannot read it ({e})")
    rows = [r for r in csv.reader(text.splitlines()) if any(c.strip() for c in r)]
    if len(rows) < 2:
        fail(f"{what} {path}: needs a header line and at least one site")
    header = [h.strip() for h in rows[0]]
    body = []
    for n, r in enumerate(rows[1:], start=2):
        if len(r) != len(header):
            fail(f"{what} {path}, line {n}: {len(r)} values for {len(header)} columns")
        body.append([c.strip() for c in r])
    sites = [r[0] for r in body]
    dup = sorted({s for s in sites if sites.count(s) > 1})
    if dup:
        fail(f"{what} {path}: site(s) listed twice: {', '.join(dup[:10])}")
    return header, body


def _numbers(values: list[str]):
    """Floats (NaN for missing) when every non-missing value is a number, else None."""
    out = []
    for v in values:
        if v.lower() in _NA:
            out.append(math.nan)
            continue
        try:
            out.append(float(v))
        except ValueError:
            return None
    return out


def _column(values: list[str]):
    import numpy as np

    nums = _numbers(values)
    if nums is not None:
        return np.array(nums, dtype=float)
    return np.array([None if v.lower() in _NA else v for v in values], dtype=object)


def read_inputs(y_path: Path, site_path: Path | None, obs: tuple[str, ...]):
    """The OccuData of the three kinds of file (click failure naming the file and line on bad input)."""
    import numpy as np
    import pandas as pd

    from .occupancy import OccuData, OccupancyError

    header, body = _read(y_path, "--y")
    sites = [r[0] for r in body]
    J = len(header) - 1
    if J < 1:
        fail(f"--y {y_path}: no occasion columns after {header[0]!r} (expected site,1,2,...,J)")
    y = np.full((len(body), J), np.nan)
    for i, r in enumerate(body):
        for j, v in enumerate(r[1:]):
            if v.lower() in _NA:
                continue
            try:
                y[i, j] = float(v)
            except ValueError:
                fail(f"--y {y_path}, line {i + 2}, occasion {header[j + 1]!r}: {v!r} is not 1, 0 or empty")
            if y[i, j] < 0 or y[i, j] != int(y[i, j]):
                fail(f"--y {y_path}, line {i + 2}, occasion {header[j + 1]!r}: {v!r} is not 1, 0 or empty")
    site_covs = None
    if site_path is not None:
        sh, sb = _read(site_path, "--site-covs")
        by_site = {r[0]: r for r in sb}
        missing = [s for s in sites if s not in by_site]
        if missing:
            fail(f"--site-covs {site_path}: no row for site(s) {', '.join(missing[:10])} of {y_path.name}")
        extra = [s for s in by_site if s not in set(sites)]
        if extra:
            click.echo(f"warning: --site-covs rows for sites not in {y_path.name} are ignored: "
                       f"{', '.join(extra[:10])}", err=True)
        ordered = [by_site[s] for s in sites]
        site_covs = pd.DataFrame({name: _column([r[k] for r in ordered]) for k, name in enumerate(sh) if k > 0})
    obs_covs = {}
    for spec in obs:
        name, sep, file = spec.partition("=")
        name = name.strip()
        if not sep or not name or not file:
            fail(f"--obs-covs {spec!r}: give NAME=FILE.csv")
        if not name.isidentifier():
            fail(f"--obs-covs {spec!r}: the name must be a plain identifier (letters, digits, _)")
        if name in obs_covs:
            fail(f"--obs-covs {name!r} given twice")
        oh, ob = _read(Path(file), f"--obs-covs {name}")
        if len(oh) != len(header):
            fail(f"--obs-covs {name} {file}: {len(oh) - 1} occasion columns, {y_path.name} has {J}")
        by_site = {r[0]: r for r in ob}
        missing = [s for s in sites if s not in by_site]
        if missing:
            fail(f"--obs-covs {name} {file}: no row for site(s) {', '.join(missing[:10])}")
        flat = [v for s in sites for v in by_site[s][1:]]
        obs_covs[name] = _column(flat).reshape(len(sites), J)
    try:
        return OccuData(y, sites, site_covs, obs_covs)
    except OccupancyError as e:
        fail(str(e))


def text_summary(fit, gof_result=None) -> str:
    """unmarked-like summary: the two coefficient tables, AIC, sites, convergence, warnings."""
    lines = []
    rows = fit.table()
    for which, title in (("psi", f"Occupancy ({fit.psi_link}-scale):"), ("p", "Detection (logit-scale):")):
        lines.append(title)
        lines.append(f"{'':>16} {'Estimate':>10} {'SE':>10} {'z':>8} {'P(>|z|)':>10}")
        for r in rows:
            if r["submodel"] != which:
                continue

            def fmt(v, w, d=4):
                return f"{'NA':>{w}}" if v is None else f"{v:>{w}.{d}f}"

            lines.append(f"{r['parameter']:>16} {fmt(r['estimate'], 10)} {fmt(r['se'], 10)} {fmt(r['z'], 8, 3)} "
                         f"{fmt(r['p_value'], 10, 4)}")
        lines.append("")
    mean = fit.mean_occupancy()
    lines.append(f"AIC: {fit.aic:.4f}")
    lines.append(f"Number of sites: {fit.n_sites}" + (f" (removed: {', '.join(s for s, _ in fit.prep.removed)})"
                                                       if fit.prep.removed else ""))
    lines.append(f"Converged: {'yes' if fit.converged else 'NO'}")
    if mean["lower"] is not None:
        lines.append(f"Mean occupancy: {mean['estimate']:.4f} (95% CI {mean['lower']:.4f}-{mean['upper']:.4f}); "
                     f"naive: {fit.naive_occupancy():.4f}")
    if gof_result is not None:
        lines.append(f"MacKenzie-Bailey GOF: chi-square {gof_result['chi_square']:.4f}, bootstrap p = "
                     f"{_f(gof_result['p_value'])}, c-hat = {_f(gof_result['c_hat'])} ({gof_result['n_ok']} simulations, "
                     f"seed {gof_result['seed']})")
    return "\n".join(lines) + "\n"


def _f(v) -> str:
    return "NA" if v is None else f"{v:.4f}"


@click.command("occupancy")
@click.option("--y", "y_path", type=click.Path(dir_okay=False, path_type=Path, exists=True), required=True,
              help="Detection histories: site,1,2,...,J with 1, 0 or empty (not surveyed).")
@click.option("--site-covs", "site_path", type=click.Path(dir_okay=False, path_type=Path, exists=True),
              default=None, help="Site covariates: site,<covariate>...")
@click.option("--obs-covs", "obs", multiple=True, metavar="NAME=FILE.csv",
              help="An observation covariate with Y.csv's layout (repeatable).")
@click.option("--psi", default="~ 1", show_default=True, help="Occupancy formula, e.g. '~ elevation + forest'.")
@click.option("--p", "p_formula", default="~ 1", show_default=True,
              help="Detection formula (site and observation covariates), e.g. '~ effort + elevation'.")
@click.option("--psi-link", type=click.Choice(["logit", "cloglog"]), default="logit", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text", show_default=True)
@click.option("--level", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.95,
              show_default=True, help="Confidence level of the intervals.")
@click.option("--gof", "gof_n", type=click.IntRange(0, 10_000), default=0, show_default=True,
              help="MacKenzie-Bailey goodness of fit with this many bootstrap simulations (0: none).")
@click.option("--seed", type=int, default=None, help="Seed of the goodness-of-fit bootstrap (reproducible).")
def occupancy_cmd(y_path, site_path, obs, psi, p_formula, psi_link, fmt, level, gof_n, seed):
    """Fit a single-season occupancy model (MacKenzie et al. 2002) as unmarked's occu does."""
    from .design import FormulaError
    from .occupancy import OccupancyError, fit

    data = read_inputs(y_path, site_path, obs)
    try:
        result = fit(data, psi, p_formula, psi_link)
        gof_result = None
        if gof_n:
            from .gof import mb_test

            gof_result = mb_test(result, gof_n, seed)
    except (OccupancyError, FormulaError) as e:
        fail(str(e))
    for w in result.warnings:
        click.echo(f"warning: {w.message}", err=True)
    if fmt == "json":
        out = result.to_json(level)
        if gof_result is not None:
            out["gof"] = {k: v for k, v in gof_result.items() if k != "t_star"}
        click.echo(json.dumps(out, ensure_ascii=False, indent=1, allow_nan=False))
    else:
        click.echo(text_summary(result, gof_result), nl=False)
