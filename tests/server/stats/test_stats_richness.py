"""Richness estimators (server/stats/richness.py): vegan's specpool and specaccum formulas on
hand-computed tables, brute-force accumulation, intervals and bad input."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from server.stats import richness as rc

# 5 units x 6 species: frequencies A=5, B=3, C=2, D=1, E=1, F=1 (S=6, a1=3, a2=1).
TABLE = np.array([
    [3, 1, 2, 0, 0, 0],
    [1, 4, 0, 1, 0, 0],
    [2, 0, 0, 0, 1, 0],
    [1, 1, 0, 0, 0, 0],
    [5, 0, 1, 0, 0, 2]])


def test_specpool_by_hand():
    p = rc.specpool(TABLE)
    assert (p.n, p.species, p.a1, p.a2) == (5, 6, 3, 1)
    assert p.chao == pytest.approx(6 + 0.8 * 9 / 2)  # S + ssc a1^2 / 2a2 = 9.6
    assert p.chao_se ** 2 == pytest.approx(33.84)  # a2 ssc (1/2 + ssc (1 + aa/4) aa) aa^2, aa = 3
    assert p.jack1 == pytest.approx(8.4)  # 6 + 3 * 4/5
    assert p.jack1_se ** 2 == pytest.approx(1.92)  # (sum k^2 f_k - a1/n) (n-1)/n: (3 - 0.6) * 0.8
    assert p.jack2 == pytest.approx(9.75)  # 6 + 3 * 7/5 - 1 * 9/5/4
    assert p.boot == pytest.approx(6 + 0.4 ** 5 + 0.6 ** 5 + 3 * 0.8 ** 5)
    lo, hi = p.intervals["chao"]
    T = 3.6
    K = math.exp(1.959963984540054 * math.sqrt(math.log(1 + 33.84 / T ** 2)))
    assert (lo, hi) == pytest.approx((6 + T / K, 6 + T * K))
    assert lo >= p.species
    assert p.jack2_se is not None and p.jack2_se > 0
    assert any("only 5 sampling units" in n for n in p.notes)


def test_specpool_bootstrap_variance_by_hand():
    # 2 units, species A in unit 1 only, B in both: p = (1/2, 1); pn = (1/4, 0).
    p = rc.specpool([[1, 1], [0, 1]], jack2_resamples=0)
    # var = sum pn (1 - pn) + 2 sum_{k<l} [(share of units missing both)^n - pn_k pn_l] = 3/16 + 2 (0 - 0)
    assert p.boot_se ** 2 == pytest.approx(3 / 16)
    assert p.boot == pytest.approx(2.25)


def test_chao_bias_corrected_without_duplicates():
    # 4 units; frequencies A=4, B=1, C=1, D=3: a1 = 2, a2 = 0, ssc = 3/4.
    t = np.array([[1, 1, 0, 1], [1, 0, 1, 1], [1, 0, 0, 1], [1, 0, 0, 0]])
    p = rc.specpool(t, jack2_resamples=0)
    assert p.chao == pytest.approx(4 + 0.75 * 2 * 1 / 2)
    chao = 4.75
    assert p.chao_se ** 2 == pytest.approx(0.75 * (0.75 * (2 * 9 / 4 - 16 / chao / 4) + 1))
    assert any("bias-corrected" in n for n in p.notes)


def test_complete_inventory_has_no_missing_species():
    p = rc.specpool(np.ones((6, 4)))
    assert p.chao == p.jack1 == p.species == 4 and p.chao_se == 0
    assert p.intervals["chao"] == (4.0, 4.0)


def brute_accumulation(x):
    x = (np.asarray(x) > 0)
    n = x.shape[0]
    out = []
    for k in range(1, n + 1):
        vals = [x[list(c)].any(axis=0).sum() for c in itertools.combinations(range(n), k)]
        out.append((np.mean(vals), np.std(vals)))
    return out


def test_exact_accumulation_equals_all_subsets():
    acc = rc.specaccum(TABLE)
    brute = brute_accumulation(TABLE)
    assert acc.richness == pytest.approx([m for m, _ in brute])
    assert acc.richness[-1] == pytest.approx(6) and acc.sd[-1] == pytest.approx(0)


def test_exact_accumulation_sd_by_hand():
    # Two species always together in one of three units: k = 1 gives 2 species with probability 1/3.
    acc = rc.specaccum([[1, 1], [0, 0], [0, 0]])
    assert acc.richness[0] == pytest.approx(2 / 3)
    assert acc.sd[0] == pytest.approx(math.sqrt(8 / 9))  # vegan's conditioned sd: sum V + 2 cor sqrt(V V)
    acc = rc.specaccum([[1, 1], [0, 1]])  # B in every unit (its correlation is NA -> 0 in vegan)
    assert acc.richness[0] == pytest.approx(1.5) and acc.sd[0] == pytest.approx(0.5)


def test_random_accumulation_reproducible_and_near_exact():
    a = rc.specaccum(TABLE, "random", permutations=2000, seed=4)
    b = rc.specaccum(TABLE, "random", permutations=2000, seed=4)
    assert a == b
    exact = rc.specaccum(TABLE)
    assert np.allclose(a.richness, exact.richness, atol=0.08)
    assert all(lo <= m <= hi for lo, m, hi in zip(a.lower, a.richness, a.upper))


def test_bad_input():
    with pytest.raises(rc.RichnessError, match="missing values"):
        rc.specpool([[1, np.nan]])
    with pytest.raises(rc.RichnessError, match="no species"):
        rc.specpool(np.zeros((3, 2)))
    with pytest.raises(rc.RichnessError, match="no sampling units"):
        rc.specpool(np.zeros((0, 2)))
    with pytest.raises(rc.RichnessError, match="negative"):
        rc.specaccum([[1, -1]])
    with pytest.raises(rc.RichnessError, match="'exact' or 'random'"):
        rc.specaccum(TABLE, "rarefy")
    one = rc.specpool([[1, 1, 0]])
    assert one.chao == one.species == 2 and any("one sampling unit" in n for n in one.notes)
