"""Species reference: the bundled list, search with and without diacritics, CSV errors."""
from __future__ import annotations

import pytest

from protocols import species
from protocols.species import SpeciesListError
from protocols.text import fold


@pytest.fixture(scope="module")
def vn():
    return species.load_bundled()


def names(hits):
    return [s.scientific_name for s in hits]


def test_bundled_list_is_complete_and_well_formed(vn):
    assert 500 <= len(vn) <= 1500  # several hundred taxa, higher taxa included
    for s in vn:
        assert s.scientific_name and s.vietnamese_name and s.english_name, s
        assert s.iucn_category in species.IUCN_CATEGORIES | {""}, s
        assert s.taxon_group in {"mammal", "bird", "reptile", "amphibian", ""}, s
        assert (len(s.scientific_name.split()) == 2) == (s.extra["rank"] == "species"), s
    assert vn.get("pseudoryx NGHETINHENSIS").vietnamese_name == "Sao la"
    # the old name of the list still loads the reference (callers written before it was renamed)
    assert len(species.load_bundled("vn_core")) == len(vn)


@pytest.mark.parametrize("query,first", [
    ("Chà vá chân nâu", "Pygathrix nemaeus"),
    ("cha va chan nau", "Pygathrix nemaeus"),
    ("CHA VA CHAN NAU", "Pygathrix nemaeus"),
    ("chân nâu", "Pygathrix nemaeus"),
    ("red-shanked", "Pygathrix nemaeus"),
    ("pygathrix nem", "Pygathrix nemaeus"),
    ("sao la", "Pseudoryx nghetinhensis"),
    ("saola", "Pseudoryx nghetinhensis"),
    ("voọc mông trắng", "Trachypithecus delacouri"),
    ("vooc mong trang", "Trachypithecus delacouri"),
    ("gấu ngựa", "Ursus thibetanus"),
    ("gau cho", "Helarctos malayanus"),
    ("hoẵng", "Muntiacus vaginalis"),  # other name
    ("hoang", "Muntiacus vaginalis"),
    ("Muntiacus muntjak", "Muntiacus vaginalis"),  # the old name of Vietnam's red muntjac
    ("đon", "Atherurus macrourus"),
    ("don", "Atherurus macrourus"),
    ("ho", "Panthera tigris"),  # "Hổ": exact folded name ranks first
    ("cọp", "Panthera tigris"),  # southern name
    ("heo rung", "Sus scrofa"),
    ("nau chan", "Pygathrix nemaeus"),  # word order does not matter
    ("Muntiacus sp.", "Muntiacus"),  # partial identifications
    ("bird sp.", "Aves"),
    ("mammal", "Mammalia"),
    ("Copsychus malabaricus", "Kittacincla malabarica"),  # BirdNET's (eBird) name
    ("Rheinardia ocellata", "Rheinardia ocellata"),
    ("thỏ vằn", "Nesolagus timminsi"),
])
def test_search_any_name_with_or_without_diacritics(vn, query, first):
    assert names(vn.search(query))[0] == first


def test_search_ranks_exact_then_prefix_then_words_then_substring(vn):
    hits = names(vn.search("vượn"))
    assert hits[0] == "Hylobatidae"  # "gibbon" rolled up: the family's other name is exactly "vượn"
    assert {"Nomascus nasutus", "Nomascus leucogenys", "Nomascus gabriellae"} <= set(hits[1:8])
    assert names(vn.search("tiger")) == ["Panthera tigris"]
    assert vn.search("khongcoloainay") == []
    assert len(vn.search("", limit=None)) == len(vn) and len(vn.search("", limit=5)) == 5
    # "gấu" (bear) also prefixes the English "Gaur"; the bear family's other name is exactly "gấu".
    hits = names(vn.search("gấu"))
    assert hits[0] == "Ursidae" and {"Bos gaurus", "Ursus thibetanus", "Helarctos malayanus"} <= set(hits[:6])
    assert names(vn.search("macaque"))[:3] == ["Macaca", "Macaca arctoides", "Macaca assamensis"]


def test_species_names_by_language(vn):
    douc = vn.get("Pygathrix nemaeus")
    assert douc.name("vi") == "Chà vá chân nâu" and douc.name("en") == "Red-shanked douc"
    assert douc.to_dict()["iucn_category"] == "CR"


def test_csv_errors_name_file_and_line(tmp_path):
    p = tmp_path / "list.csv"
    p.write_text("scientific_name,vietnamese_name\nA b,c\n", encoding="utf-8")
    with pytest.raises(SpeciesListError, match="list.csv: missing column\\(s\\) english_name"):
        species.load_csv(p)
    p.write_text("scientific_name,vietnamese_name,english_name,iucn_category\nA b,c,d,XX\n", encoding="utf-8")
    with pytest.raises(SpeciesListError, match="list.csv line 2: iucn_category 'XX'"):
        species.load_csv(p)
    p.write_text("scientific_name,vietnamese_name,english_name\nA b,c,d\nA B,e,f\n", encoding="utf-8")
    with pytest.raises(SpeciesListError, match="list.csv line 3: 'A B' appears twice"):
        species.load_csv(p)
    p.write_text("\ufeffscientific_name,vietnamese_name,english_name,region\nA b,Ạ,d,north\n", encoding="utf-8")
    (s,) = species.load_csv(p)
    assert s.extra == {"region": "north"} and s.vietnamese_name == "Ạ"
    with pytest.raises(FileNotFoundError, match="no bundled species list 'world'; available: vn_reference"):
        species.load_bundled("world")


def test_fold_is_unchanged():
    # protocols.text.fold belongs to another module; search relies on its behaviour.
    assert fold("Voọc chà vá") == "vooc cha va"
    assert fold("  Đường   ĐI ") == "duong di"
    assert fold(None) == ""
