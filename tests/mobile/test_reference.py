"""Reference data: server protocol versions (newer major refused), species cache, offline fallback."""
from __future__ import annotations

import pytest

import protocols
from mobile.reference import KINDS, Reference
from mobile.store import Store
from protocols.species import SpeciesListError


@pytest.fixture
def ref(tmp_path):
    s = Store(tmp_path)
    yield Reference(s)
    s.close()


def bumped(name: str, version: str) -> dict:
    d = protocols.load(name).to_dict()
    d["version"] = version
    return d


def test_bundled_protocols_offline(ref):
    for kind in KINDS.values():
        # line_transect 1.1 added the patrol and walk summary (issue 14)
        assert ref.protocol(kind["protocol"]).version == ("1.1" if kind["protocol"] == "line_transect" else "1.0")


def test_minor_version_from_server_is_used_newer_major_refused(ref):
    newer_minor = bumped("line_transect", "1.3")
    newer_minor["records"]["walk"]["fields"].append(
        {"name": "canopy_cover", "type": "integer", "min": 0, "max": 100, "unit": "%",
         "label": {"en": "Canopy cover", "vi": "Độ che phủ tán"}})
    refused = ref.update_protocols([newer_minor, bumped("threat_incident", "2.0"), {"name": "broken"}])
    assert ref.protocol("line_transect").version == "1.3"
    assert "canopy_cover" in ref.protocol("line_transect").record_type("walk").field_names
    assert ref.protocol("threat_incident").version == "1.0"
    assert refused[0] == ("Protocol 'threat_incident' version 2.0 is newer than this app supports (1.x). "
                          "Update the Saola app before recording with it.")
    assert "server protocol broken: protocol version None is not of the form" in refused[1]
    # Kept across restarts.
    again = Reference(ref.store)
    assert again.protocol("line_transect").version == "1.3"
    assert ref.store.get_setting("protocols_refused") == refused


def test_species_cache_per_program(ref):
    assert len(ref.species(None)) > 40  # bundled vn_reference
    n = ref.set_species("p1", [{"scientific_name": "Pseudoryx nghetinhensis", "vietnamese_name": "Sao la",
                                "english_name": "Saola", "iucn_category": "CR"}])
    assert n == 1 and [s.scientific_name for s in ref.species("p1").search("sao la")] == ["Pseudoryx nghetinhensis"]
    assert len(Reference(ref.store).species("p1")) == 1
    with pytest.raises(SpeciesListError, match="item 1: scientific_name is empty"):
        ref.set_species("p2", [{"vietnamese_name": "?"}])


def test_alternative_names_survive_an_update_from_the_server(ref):
    """D9: after "Refresh from server" Hoẵng still finds Muntiacus vaginalis, whether the server sends
    alternative names (other_names) or not (an older server), and the server's own ones are kept."""
    assert ref.species(None).search("Hoẵng")[0].scientific_name == "Muntiacus vaginalis"  # bundled
    old_server = [{"scientific_name": "Muntiacus vaginalis", "vietnamese_name": "Mang thường",
                   "english_name": "Northern red muntjac"},
                  {"scientific_name": "Buceros bicornis", "vietnamese_name": "Hồng hoàng", "english_name": "Hornbill"}]
    ref.set_species("p1", old_server)
    assert ref.species("p1").search("Hoẵng")[0].scientific_name == "Muntiacus vaginalis"
    new_server = [{**old_server[0], "other_names": ["Mễn", "hoẵng"]}, old_server[1]]
    ref.set_species("p2", new_server)
    muntjac = Reference(ref.store).species("p2").get("Muntiacus vaginalis")  # kept across restarts
    # the server's names first, then the bundled reference's others; no second Hoẵng nor Mễn
    assert muntjac.other_names[:2] == ("Mễn", "hoẵng") and "Muntiacus muntjak" in muntjac.other_names
    assert len({n.lower() for n in muntjac.other_names}) == len(muntjac.other_names)
    assert [s.scientific_name for s in Reference(ref.store).species("p2").search("Mễn")] == ["Muntiacus vaginalis"]
