"""Data quality of the species reference shipped with Saola (protocols/species/vn_reference.csv).

The file is data people edit by hand: these checks keep it loadable by the server and the
app, keep the tree consistent (every parent present and of a higher rank), the categories
in their legal sets, a source on every row and a Vietnamese name on every species.
"""
from __future__ import annotations

import csv
import re
import unicodedata
from collections import Counter, defaultdict

import pytest

from protocols.species import REFERENCE_CSV, SOURCES_CSV

COLUMNS = ["scientific_name", "rank", "parent", "vietnamese_name", "english_name", "other_names", "taxon_group",
           "iucn_category", "vn_redlist_category", "decree84_group", "cites_appendix", "sensitive", "source", "notes"]
RANKS = ["kingdom", "phylum", "class", "order", "family", "genus", "species", "subspecies"]
IUCN = {"EX", "EW", "CR", "EN", "VU", "NT", "LC", "DD"}
VN_RDB_2007 = {"EX", "EW", "CR", "EN", "VU", "LR", "DD"}
DECREE84 = {"IB", "IIB"}
CITES = {"I", "II", "III"}
GROUPS = {"Mammalia": "mammal", "Aves": "bird", "Reptilia": "reptile", "Amphibia": "amphibian"}
# The key each filled category column must cite in the row's source.
CATEGORY_SOURCE = {"iucn_category": "iucn2024", "vn_redlist_category": "sdvn2007", "decree84_group": "nd84-2021",
                   "cites_appendix": "cites2023"}
# Markup, control characters, zero-width or replacement characters, doubled or edge spaces.
ODD = re.compile(r"[<>&\"\\\x00-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff\ufffd]|  |^\s|\s$")


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    with REFERENCE_CSV.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == COLUMNS
        return list(reader)


@pytest.fixture(scope="module")
def by_name(rows) -> dict[str, dict]:
    return {r["scientific_name"]: r for r in rows}


def lineage(row: dict, by_name: dict) -> list[str]:
    out = []
    while row["parent"]:
        out.append(row["parent"])
        row = by_name[row["parent"]]
    return out


def species_below(name: str, rows: list[dict], by_name: dict) -> list[dict]:
    return [r for r in rows if r["rank"] == "species" and name in lineage(r, by_name)]


def sensitive(r: dict) -> bool:
    return r["decree84_group"] == "IB" or r["iucn_category"] in ("CR", "EN")


def test_several_hundred_taxa_of_every_rank_and_class(rows, by_name):
    counts = Counter((r["rank"], r["taxon_group"]) for r in rows)
    assert len(rows) >= 500
    assert counts[("species", "mammal")] >= 80 and counts[("species", "bird")] >= 150
    assert counts[("species", "reptile")] >= 20
    for group in ("mammal", "bird", "reptile"):
        for rank in ("class", "order", "family", "genus"):
            assert counts[(rank, group)] >= 1, (rank, group)
    for name in ("Animalia", "Mammalia", "Aves", "Reptilia", "Amphibia", "Rodentia", "Chiroptera", "Muntiacus",
                 "Tragulus", "Ardea", "Squamata", "Anura"):
        assert name in by_name


def test_names_are_unique(rows):
    sci = Counter(r["scientific_name"].casefold() for r in rows)
    assert [n for n, c in sci.items() if c > 1] == []
    # the English and Vietnamese names pick one taxon (a classifier's label or a ranger's word)
    for col in ("english_name", "vietnamese_name"):
        names = Counter(r[col].casefold() for r in rows)
        assert [n for n, c in names.items() if c > 1] == [], col


def test_alternative_names_are_unambiguous(rows):
    """An alternative name is never another taxon's name, and one taxon lists a name once."""
    primary = {r[c].casefold(): r["scientific_name"] for r in rows
               for c in ("scientific_name", "vietnamese_name", "english_name") if r[c]}
    owners = defaultdict(set)
    for r in rows:
        names = [n.strip() for n in r["other_names"].split(";") if n.strip()]
        assert len({n.casefold() for n in names}) == len(names), r["scientific_name"]
        for n in names:
            owners[n.casefold()].add(r["scientific_name"])
            assert primary.get(n.casefold(), r["scientific_name"]) == r["scientific_name"], (n, r["scientific_name"])
    assert {n: o for n, o in owners.items() if len(o) > 1} == {}


def test_every_parent_exists_before_its_children_with_a_higher_rank(rows, by_name):
    seen = set()
    for r in rows:
        assert r["rank"] in RANKS, r
        if r["scientific_name"] == "Animalia":
            assert r["parent"] == "" and r["rank"] == "kingdom"
        else:
            assert r["parent"] in seen, f"{r['scientific_name']}: parent {r['parent']!r} missing or later"
            assert RANKS.index(by_name[r["parent"]]["rank"]) < RANKS.index(r["rank"]), r["scientific_name"]
        seen.add(r["scientific_name"])


def test_ranks_match_the_form_of_the_names(rows, by_name):
    for r in rows:
        words = r["scientific_name"].split()
        if r["rank"] == "species":
            assert len(words) == 2 and words[1].islower(), r["scientific_name"]
            assert by_name[r["parent"]]["rank"] == "genus" and r["parent"] == words[0], r["scientific_name"]
        else:
            assert len(words) == 1 and words[0][0].isupper() and words[0][1:].islower(), r["scientific_name"]
        if r["rank"] == "family":
            assert r["scientific_name"].endswith("idae"), r["scientific_name"]
        if r["rank"] == "genus":
            assert r["parent"] and by_name[r["parent"]]["rank"] == "family", r["scientific_name"]


def test_classes_and_groups_agree(rows, by_name):
    for r in rows:
        cls = next((a for a in [r["scientific_name"], *lineage(r, by_name)] if by_name[a]["rank"] == "class"), None)
        assert r["taxon_group"] == GROUPS.get(cls, ""), r["scientific_name"]


def test_categories_come_from_the_allowed_sets(rows):
    for r in rows:
        assert r["iucn_category"] in IUCN | {""}, r
        assert r["vn_redlist_category"] in VN_RDB_2007 | {""}, r
        assert r["decree84_group"] in DECREE84 | {""}, r
        assert r["cites_appendix"] in CITES | {""}, r
        assert r["sensitive"] in ("", "yes"), r
        if r["rank"] != "species":  # categories belong to species here; higher taxa get none
            assert not any(r[c] for c in CATEGORY_SOURCE), r["scientific_name"]


def test_every_row_names_its_sources(rows):
    with SOURCES_CSV.open(encoding="utf-8", newline="") as f:
        keys = {s["key"]: s for s in csv.DictReader(f)}
    assert all(k["reference"].strip() for k in keys.values())
    used = set()
    for r in rows:
        src = r["source"].split(";")
        assert r["source"] and all(k in keys for k in src), r
        assert src[0] in ("col", "mdd", "ioc14", "reptiledb", "asw") and "vnnames" in src, r["scientific_name"]
        for col, key in CATEGORY_SOURCE.items():
            assert bool(r[col]) == (key in src), f"{r['scientific_name']}: {col} and source {key}"
        used |= set(src)
    assert used == set(keys), "sources.csv explains exactly the keys the rows use"


def test_vietnamese_and_english_names_everywhere(rows):
    for r in rows:
        assert r["vietnamese_name"] and r["english_name"], r["scientific_name"]
        if r["rank"] != "species":
            assert r["vietnamese_name"].split()[0] in ("Giới", "Ngành", "Lớp", "Bộ", "Họ", "Chi"), r
    vietnamese = {r["scientific_name"]: r["vietnamese_name"] for r in rows if r["rank"] == "species"}
    # Vietnamese, not transliterated to ASCII: most species names carry diacritics.
    assert sum(1 for v in vietnamese.values() if v != unicodedata.normalize("NFKD", v).encode("ascii", "ignore")
               .decode()) > 0.8 * len(vietnamese)


def test_no_markup_or_odd_characters(rows):
    for r in rows:
        for col, value in r.items():
            assert not ODD.search(value), (r["scientific_name"], col, value)
            assert unicodedata.normalize("NFC", value) == value, (r["scientific_name"], col)
        if r["scientific_name"] != "Animalia":
            assert re.fullmatch(r"[A-Z][a-z]+( [a-z]+)?", r["scientific_name"]), r["scientific_name"]


def test_higher_taxa_are_sensitive_when_all_their_species_are(rows, by_name):
    for r in rows:
        if r["rank"] == "species":
            assert r["sensitive"] == "", r["scientific_name"]  # species follow the rule (IB, IUCN CR/EN)
            continue
        below = species_below(r["scientific_name"], rows, by_name)
        assert (r["sensitive"] == "yes") == bool(below and all(sensitive(s) for s in below)), r["scientific_name"]


@pytest.mark.parametrize("name,iucn,vn,d84,cites", [
    ("Pseudoryx nghetinhensis", "CR", "EN", "IB", "I"),
    ("Muntiacus vuquangensis", "CR", "EN", "IB", "I"),
    ("Manis pentadactyla", "CR", "EN", "IB", "I"),
    ("Manis javanica", "CR", "EN", "IB", "I"),
    ("Rheinardia ocellata", "CR", "", "IB", "I"),
    ("Nesolagus timminsi", "EN", "", "IB", ""),
    ("Panthera tigris", "EN", "CR", "IB", "I"),
    ("Macaca mulatta", "LC", "LR", "IIB", "II"),
    ("Muntiacus vaginalis", "LC", "", "", ""),
    ("Ophiophagus hannah", "VU", "CR", "IB", "II"),
])
def test_known_rows(by_name, name, iucn, vn, d84, cites):
    r = by_name[name]
    assert (r["iucn_category"], r["vn_redlist_category"], r["decree84_group"], r["cites_appendix"]) == (
        iucn, vn, d84, cites)


def test_annamite_and_partial_identification_rows(rows, by_name):
    gibbons = [r for r in rows if r["parent"] == "Nomascus"]
    assert len(gibbons) >= 5 and all(g["decree84_group"] == "IB" and g["cites_appendix"] == "I" for g in gibbons)
    assert by_name["Nomascus"]["sensitive"] == "yes" and by_name["Manis"]["sensitive"] == "yes"
    assert by_name["Muntiacus"]["sensitive"] == ""  # the red muntjac is not sensitive
    assert {r["scientific_name"] for r in rows if r["parent"] == "Tragulus"} == {"Tragulus kanchil",
                                                                               "Tragulus versicolor"}
    muntjac = by_name["Muntiacus vaginalis"]
    assert {"Hoẵng", "Muntiacus muntjak"} <= set(n.strip() for n in muntjac["other_names"].split(";"))
    assert lineage(muntjac, by_name) == ["Muntiacus", "Cervidae", "Artiodactyla", "Mammalia", "Chordata", "Animalia"]
    assert "Muntiacus sp." in by_name["Muntiacus"]["other_names"] and "bird sp." in by_name["Aves"]["other_names"]
    assert "animal" in by_name["Animalia"]["other_names"].split("; ")
