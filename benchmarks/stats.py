"""Benchmark: monitoring statistics - occupancy fits, the overlap bootstrap and the annual report.

  (a) Single-season occupancy with 3 occupancy and 3 detection covariates on 1,000 sites x
      30 occasions (simulated, 10% NA): Saola's fit as unmarked runs it (R's BFGS with optim's
      numerical gradient, 8 parameters) and with the exact gradient, against the baseline a
      Python user would write: ``scipy.optimize.minimize(method="BFGS")`` of the same
      likelihood with scipy's default finite-difference gradient. Same optimum checked.
      Also the multi-season model (1,000 sites, 3 years x 10 occasions, 1 + 1 + 1 + 1 covariates).
  (b) Activity overlap with a 10,000-resample smoothed bootstrap (n = 100 and 150): Saola's
      batched bootstrap against a loop calling the one-pair estimator per resample (as R's
      overlap::bootEst does); the loop runs ``--loop`` resamples (1,000; --quick 100) and its
      time is scaled to 10,000.
  (c) The whole annual report (build + HTML in English) of a 500-station, 3-year camera program
      in a fresh SQLite database (30-day surveys each March, 8 species, priority species and two
      predator-prey pairs in the program's settings), against the same report without the
      monitoring estimates (the baseline: what the estimates add).

Times are wall seconds (best of ``--reps``); peak memory is tracemalloc's peak of Python and
numpy allocations during a separate run of each step.

Usage:  .venv/bin/python benchmarks/stats.py [--quick] [--reps N] [--loop N]
Ends with BENCH lines.
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.stats import colext as cx  # noqa: E402
from server.stats import occupancy as occ  # noqa: E402
from server.stats import overlap as ov  # noqa: E402


def timed(fn, reps: int):
    best, out = float("inf"), None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def peak_mb(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2 ** 20
    finally:
        tracemalloc.stop()


def occupancy_data(M: int, J: int, seed: int = 1) -> occ.OccuData:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(M, 3))
    V = rng.normal(size=(3, M, J))
    psi = 1 / (1 + np.exp(-(0.3 + X @ np.array([0.8, -0.5, 0.3]))))
    p = 1 / (1 + np.exp(-(-0.4 + 0.6 * V[0] - 0.3 * V[1] + 0.2 * V[2])))
    z = rng.random(M) < psi
    y = ((rng.random((M, J)) < p) & z[:, None]).astype(float)
    y[rng.random((M, J)) < 0.1] = np.nan
    return occ.OccuData(y, [f"s{i}" for i in range(M)], pd.DataFrame(X, columns=["a", "b", "c"]),
                        {"u": V[0], "v": V[1], "w": V[2]})


def bench_occupancy(M: int, J: int, reps: int) -> list[str]:
    from scipy.optimize import minimize

    data = occupancy_data(M, J)
    psi, p = "~ a + b + c", "~ u + v + w"
    t_num, f_num = timed(lambda: occ.fit(data, psi, p), reps)
    t_exact, f_exact = timed(lambda: occ.fit(data, psi, p, gradient="exact"), reps)
    lik = occ.Likelihood(occ.prepare(data, psi, p), "logit")
    t_scipy, res = timed(lambda: minimize(lik.nll, np.zeros(8), method="BFGS"), reps)
    m_num = peak_mb(lambda: occ.fit(data, psi, p))
    m_scipy = peak_mb(lambda: minimize(lik.nll, np.zeros(8), method="BFGS"))
    print(f"(a) occupancy {M} sites x {J} occasions, 8 parameters:")
    print(f"    Saola (unmarked's path, numeric gradient + Hessian): {t_num:.3f} s, nll {f_num.nll:.6f}, "
          f"peak {m_num:.1f} MB")
    print(f"    Saola (exact gradient + Hessian):                    {t_exact:.3f} s, nll {f_exact.nll:.6f}")
    print(f"    scipy.optimize.minimize BFGS (no SEs):              {t_scipy:.3f} s, nll {res.fun:.6f}, "
          f"peak {m_scipy:.1f} MB")
    assert abs(f_num.nll - res.fun) < 1e-3 and abs(f_exact.nll - res.fun) < 1e-3, "different optima"
    # multi-season: 1,000 sites, 3 years x 10 occasions
    rng = np.random.default_rng(2)
    T, Jd = 3, 10
    y = cx.simulate(M, T, Jd, 0.5, 0.15, 0.25, 0.4, seed=3)
    dd = cx.ColextData(y, [f"s{i}" for i in range(M)], T, pd.DataFrame({"x": rng.normal(size=M)}),
                       {"yc": rng.normal(size=(M, T))}, {"oc": rng.normal(size=(M, T * Jd))})
    t_cx, f_cx = timed(lambda: cx.fit(dd, "~ x", "~ yc", "~ yc", "~ oc"), reps)
    m_cx = peak_mb(lambda: cx.fit(dd, "~ x", "~ yc", "~ yc", "~ oc"))
    print(f"    colext {M} sites x {T} years x {Jd} occasions, 8 parameters: {t_cx:.3f} s "
          f"(converged {f_cx.converged}), peak {m_cx:.1f} MB")
    return [f"BENCH occupancy_fit_s {t_num:.3f} Saola occu fit (unmarked's BFGS path, SEs) on {M}x{J}, 3+3 covariates",
            f"BENCH occupancy_fit_vs_scipy {t_num / t_scipy:.2f} Saola (with Hessian/SEs) / scipy.optimize BFGS "
            "(finite differences, no SEs), same likelihood and optimum",
            f"BENCH occupancy_exact_vs_scipy {t_exact / t_scipy:.2f} Saola exact-gradient fit / scipy BFGS",
            f"BENCH occupancy_peak_mb {m_num:.1f} tracemalloc peak of the fit",
            f"BENCH colext_fit_s {t_cx:.3f} multi-season fit {M} sites x {T}x{Jd}, 8 parameters"]


def bench_overlap(n_boot: int, loop: int, reps: int) -> list[str]:
    rng = np.random.default_rng(5)
    a = np.mod(rng.vonmises(np.pi / 2, 2.0, 100), 2 * np.pi)
    b = np.mod(rng.vonmises(np.pi, 1.0, 150), 2 * np.pi)
    t_saola, res = timed(lambda: ov.analyse(a, b, bootstrap=n_boot, seed=1), reps)
    m_saola = peak_mb(lambda: ov.analyse(a, b, bootstrap=n_boot, seed=1))

    def looped():
        rs = np.random.default_rng(1)
        A, B = ov.resample(a, loop, rng=rs), ov.resample(b, loop, rng=rs)
        return [ov.overlap_est(A[i], B[i]) for i in range(loop)]

    t_loop, _ = timed(looped, 1)
    scaled = t_loop * n_boot / loop
    print(f"(b) overlap bootstrap, {n_boot} resamples of n=100 and n=150: Saola {t_saola:.2f} s "
          f"(peak {m_saola:.1f} MB); per-resample loop {t_loop:.2f} s for {loop}, {scaled:.1f} s scaled to {n_boot}")
    print(f"    Dhat4 {res.estimates['dhat4']:.4f}, basic0 interval {res.ci['dhat4']['basic0']}")
    return [f"BENCH overlap_bootstrap_s {t_saola:.2f} Saola smoothed bootstrap, {n_boot} resamples",
            f"BENCH overlap_bootstrap_vs_loop {t_saola / scaled:.3f} Saola batched / per-resample loop of "
            f"overlapEst (R bootEst's shape), loop measured on {loop} and scaled",
            f"BENCH overlap_peak_mb {m_saola:.1f} tracemalloc peak of the {n_boot}-resample bootstrap"]


def build_program(url: str, stations: int, years: tuple[int, ...], seed: int = 7) -> str:
    """A camera program in a fresh database; returns its id."""
    from sqlalchemy import insert

    from server.db import session_scope
    from server.models import Deployment, Location, Observation, Program, ProtectedArea, Taxon, new_id

    rng = np.random.default_rng(seed)
    species = [("Panthera pardus", 0.15, 0.2), ("Cuon alpinus", 0.2, 0.2), ("Muntiacus vaginalis", 0.6, 0.4),
               ("Sus scrofa", 0.7, 0.45), ("Rusa unicolor", 0.3, 0.3), ("Arctictis binturong", 0.25, 0.2),
               ("Macaca leonina", 0.4, 0.3), ("Lophura nycthemera", 0.5, 0.35)]
    hours = {"Panthera pardus": (20, 5), "Cuon alpinus": (6, 10), "Muntiacus vaginalis": (6, 9),
             "Sus scrofa": (18, 6), "Rusa unicolor": (19, 6), "Arctictis binturong": (21, 6),
             "Macaca leonina": (8, 8), "Lophura nycthemera": (7, 8)}
    with session_scope(url) as s:
        area = ProtectedArea(code="BENCH", name="Benchmark area")
        s.add(area)
        s.flush()
        prog = Program(area_id=area.id, name="Grid", settings={
            "priority_species": ["Panthera pardus", "Muntiacus vaginalis", "Rusa unicolor", "Cuon alpinus"],
            "predator_prey": [["Panthera pardus", "Muntiacus vaginalis"], ["Cuon alpinus", "Sus scrofa"]]})
        s.add(prog)
        taxa = {n: Taxon(scientific_name=n) for n, _, _ in species}
        s.add_all(taxa.values())
        s.flush()
        locs = [{"id": new_id(), "area_id": area.id, "name": f"C{i:03d}", "latitude": 15 + i * 0.001,
                 "longitude": 107.5, "elevation": float(rng.uniform(100, 1500))} for i in range(stations)]
        s.execute(insert(Location.__table__), locs)
        deps, obs = [], []
        z = {n: rng.random(stations) < psi for n, psi, _ in species}
        for t, year in enumerate(years):
            start = datetime(year, 2, 28, 17, tzinfo=timezone.utc)
            for i, loc in enumerate(locs):
                did = new_id()
                deps.append({"id": did, "program_id": prog.id, "location_id": loc["id"], "kind": "camera",
                             "deployment_start": start, "deployment_end": start + timedelta(days=30),
                             "timezone": "Asia/Ho_Chi_Minh", "clock_offset_s": 0, "timestamp_issues": False,
                             "bait_use": False, "settings": {}, "created_at": start, "updated_at": start})
                for n, _, p in species:
                    if t:
                        u = rng.random()
                        z[n][i] = (u >= 0.2) if z[n][i] else (u < 0.1)
                    if not z[n][i]:
                        continue
                    lo, span = hours[n]
                    for day in range(30):
                        if rng.random() < p / 5:
                            at = start + timedelta(days=day, hours=float(lo + rng.uniform(0, span)))
                            obs.append({"id": new_id(), "deployment_id": did, "event_start": at, "event_end": at,
                                        "observation_level": "event", "observation_type": "animal",
                                        "taxon_id": taxa[n].id, "classification_method": "human", "extra": {},
                                        "revision": 1, "created_at": at, "updated_at": at})
        s.execute(insert(Deployment.__table__), deps)
        for k in range(0, len(obs), 5000):
            s.execute(insert(Observation.__table__), obs[k:k + 5000])
        print(f"    program: {stations} stations x {len(years)} years, {len(deps)} deployments, "
              f"{len(obs)} observations")
        return prog.id


def bench_report(stations: int, reps: int) -> list[str]:
    from server.db import session_scope
    from server.migrate import upgrade
    from server.reports import build_report, render_html

    years = (2023, 2024, 2025)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        print(f"(c) annual report, {stations} stations x 3 years (SQLite):")
        pid = build_program(url, stations, years)

        def report(estimates: bool):
            with session_scope(url) as s:
                data = build_report(s, 2025, program_id=pid, estimates=estimates)
                html = render_html(data, "en")
            return data, html

        t_full, (data, html) = timed(lambda: report(True), reps)
        t_base, _ = timed(lambda: report(False), reps)
        m_full = peak_mb(lambda: report(True))
        m = data.monitoring
        print(f"    with estimates {t_full:.1f} s (peak {m_full:.0f} MB), without {t_base:.1f} s; "
              f"{len(m.occupancy)} occupancy rows, {len(m.trends)} trends, {len(m.overlaps)} overlaps, "
              f"richness {m.richness['chao2']['estimate']:.1f} (Chao2); not estimated: {len(m.not_estimated)}; "
              f"HTML {len(html) // 1024} KB")
    return [f"BENCH annual_report_s {t_full:.1f} build + HTML of the {stations}-station 3-year report with estimates",
            f"BENCH annual_report_vs_without_estimates {t_full / t_base:.2f} report with / without the monitoring "
            "estimates (occupancy, trend, overlap, richness)",
            f"BENCH annual_report_peak_mb {m_full:.0f} tracemalloc peak of the report with estimates"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, seconds")
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument("--loop", type=int, default=None, help="resamples of the per-resample overlap loop")
    a = ap.parse_args()
    reps = a.reps or (1 if a.quick else 3)
    lines = []
    lines += bench_occupancy(100 if a.quick else 1000, 8 if a.quick else 30, reps)
    lines += bench_overlap(200 if a.quick else 10_000, a.loop or (20 if a.quick else 1000), reps)
    lines += bench_report(12 if a.quick else 500, 1 if a.quick else min(reps, 2))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines.append(f"BENCH process_maxrss_mb {rss:.0f} peak resident memory of the whole benchmark process")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
