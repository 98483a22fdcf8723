"""The field app's offline species list is the reference shipped with Saola (protocols/species/vn_reference.csv)."""
from __future__ import annotations

import pytest

from mobile.reference import Reference
from mobile.store import Store
from protocols.species import REFERENCE_CSV


@pytest.fixture
def ref(tmp_path):
    s = Store(tmp_path)
    yield Reference(s)
    s.close()


def test_offline_list_is_the_shipped_reference_with_alternative_names(ref):
    offline = ref.species(None)
    assert len(offline) == REFERENCE_CSV.read_text(encoding="utf-8").count("\n") - 1 >= 500
    assert offline.search("Hoẵng")[0].scientific_name == "Muntiacus vaginalis"
    assert offline.search("hoang")[0].scientific_name == "Muntiacus vaginalis"
    assert offline.search("Muntiacus muntjak")[0].scientific_name == "Muntiacus vaginalis"
    # partial identifications a ranger can pick, in both languages
    assert offline.search("mang chưa rõ loài")[0].scientific_name == "Muntiacus"
    assert offline.search("chim chưa rõ loài")[0].scientific_name == "Aves"
    vaginalis = offline.get("Muntiacus vaginalis")
    assert vaginalis.extra["rank"] == "species" and vaginalis.extra["parent"] == "Muntiacus"
    assert offline.get("Pseudoryx nghetinhensis").extra["decree84_group"] == "IB"


def test_a_server_list_without_alternative_names_keeps_the_references(ref):
    ref.set_species("p1", [{"scientific_name": "Muntiacus vaginalis", "vietnamese_name": "Mang thường",
                            "english_name": "Northern red muntjac"}])
    assert ref.species("p1").search("Hoẵng")[0].scientific_name == "Muntiacus vaginalis"
    assert "Muntiacus muntjak" in ref.species("p1").get("Muntiacus vaginalis").other_names
