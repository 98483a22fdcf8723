"""Species reference lists: load a CSV, search any name with or without diacritics.

A ranger types "cha va", "chà vá", "douc" or "Pygathrix" and gets the
red-shanked douc. Names are folded (lower case, no diacritics, đ -> d) once
at load, so each keystroke only compares plain strings.

CSV columns: scientific_name, vietnamese_name, english_name (required), and
optionally taxon_group, iucn_category, other_names ("; "-separated), plus any
further columns (rank, parent, vn_redlist_category, decree84_group, ...), kept in
``Species.extra``.

The list shipped with Saola is ``species/vn_reference.csv`` (its columns, sources and
the policy for uncertain categories: ``species/README.md``); the server loads the same
file at ``saola init``, so the tablet and the server start from one reference.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from .text import fold

SPECIES_DIR = Path(__file__).with_name("species")
DEFAULT_LIST = "vn_reference"
REFERENCE_CSV = SPECIES_DIR / f"{DEFAULT_LIST}.csv"
# The 51-species list the reference replaced; callers that still name it get the reference.
_RENAMED = {"vn_core": DEFAULT_LIST}
SOURCES_CSV = SPECIES_DIR / "sources.csv"  # the references of the lists' source keys, not a list itself
REQUIRED_COLUMNS = ("scientific_name", "vietnamese_name", "english_name")
IUCN_CATEGORIES = frozenset({"EX", "EW", "CR", "EN", "VU", "NT", "LC", "DD", "NE"})


class SpeciesListError(ValueError):
    """A species list is malformed (the message names the file and line)."""


@dataclass(frozen=True)
class Species:
    """One taxon in a reference list."""

    scientific_name: str
    vietnamese_name: str
    english_name: str
    taxon_group: str = ""
    iucn_category: str = ""
    other_names: tuple = ()
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def name(self, lang: str = "vi") -> str:
        """Common name in ``lang``, falling back to the scientific name."""
        common = self.vietnamese_name if lang == "vi" else self.english_name
        return common or self.scientific_name

    def to_dict(self) -> dict:
        """JSON-able form (what the server's species endpoint sends)."""
        return {
            "scientific_name": self.scientific_name,
            "vietnamese_name": self.vietnamese_name,
            "english_name": self.english_name,
            "taxon_group": self.taxon_group,
            "iucn_category": self.iucn_category,
            "other_names": list(self.other_names),
            **self.extra,
        }


def _word_prefixes_match(tokens: list[str], words: list[str]) -> bool:
    # Every query token must start some word of the name, in any order:
    # "va cha" still finds "cha va chan nau".
    return all(any(w.startswith(t) for w in words) for t in tokens)


class SpeciesList:
    """An ordered, searchable list of Species."""

    def __init__(self, species, source: str = "<species>"):
        self.source = source
        self.species: list[Species] = list(species)
        self._by_name = {s.scientific_name.lower(): s for s in self.species}
        # Per species: folded names, the scientific one first.
        self._index = []
        for s in self.species:
            names = [s.scientific_name, s.vietnamese_name, s.english_name, *s.other_names]
            self._index.append([fold(n) for n in names if n])

    def __len__(self) -> int:
        return len(self.species)

    def __iter__(self):
        return iter(self.species)

    def get(self, scientific_name: str) -> Species | None:
        """The species with this scientific name (case-insensitive), or None."""
        return self._by_name.get((scientific_name or "").strip().lower())

    def search(self, query: str, limit: int | None = 50) -> list[Species]:
        """Species whose scientific, Vietnamese, English or other name matches ``query``.

        Diacritics and case are ignored. Ranking: whole name equal, then name
        starts with the query, then every query word starts a word of one name,
        then the query appears anywhere. An empty query lists everything.
        """
        q = fold(query)
        if not q:
            return self.species[:limit] if limit else list(self.species)
        tokens = q.split()
        scored = []
        for position, (s, names) in enumerate(zip(self.species, self._index)):
            best = None
            for n in names:
                if n == q:
                    rank = 0
                elif n.startswith(q):
                    rank = 1
                elif _word_prefixes_match(tokens, n.split()):
                    rank = 2
                elif q in n:
                    rank = 3
                else:
                    continue
                best = rank if best is None else min(best, rank)
            if best is not None:
                scored.append((best, position, s))
        scored.sort(key=lambda x: (x[0], x[1]))
        hits = [s for _, _, s in scored]
        return hits[:limit] if limit else hits

    def to_list(self) -> list[dict]:
        """All species as dicts."""
        return [s.to_dict() for s in self.species]


def _species_from_row(row: dict, where: str) -> Species:
    if not (row.get("scientific_name") or "").strip():
        raise SpeciesListError(f"{where}: scientific_name is empty")
    iucn = (row.get("iucn_category") or "").strip().upper()
    if iucn and iucn not in IUCN_CATEGORIES:
        raise SpeciesListError(f"{where}: iucn_category {iucn!r} is not one of {sorted(IUCN_CATEGORIES)}")
    other = row.get("other_names") or ""
    if isinstance(other, str):
        other = [o.strip() for o in other.split(";")]
    known = set(REQUIRED_COLUMNS) | {"taxon_group", "iucn_category", "other_names"}
    return Species(
        scientific_name=row["scientific_name"].strip(),
        vietnamese_name=(row.get("vietnamese_name") or "").strip(),
        english_name=(row.get("english_name") or "").strip(),
        taxon_group=(row.get("taxon_group") or "").strip(),
        iucn_category=iucn,
        other_names=tuple(o for o in other if o),
        extra={k: v for k, v in row.items() if k not in known and k is not None},
    )


def from_records(records: list[dict], source: str = "<records>") -> SpeciesList:
    """Build a SpeciesList from dicts (e.g. the server's /programs/<id>/species JSON)."""
    species, seen = [], set()
    for i, row in enumerate(records, start=1):
        if not isinstance(row, dict):
            raise SpeciesListError(f"{source}: item {i} is not an object")
        s = _species_from_row(row, f"{source}: item {i}")
        if s.scientific_name.lower() in seen:
            raise SpeciesListError(f"{source}: item {i}: {s.scientific_name!r} appears twice")
        seen.add(s.scientific_name.lower())
        species.append(s)
    return SpeciesList(species, source)


def parse_csv(text: str, source: str = "<csv>") -> SpeciesList:
    """Parse species CSV text; raise SpeciesListError naming ``source`` and the line."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise SpeciesListError(f"{source}: missing column(s) {', '.join(missing)}")
    species, seen = [], set()
    for row in reader:
        where = f"{source} line {reader.line_num}"
        s = _species_from_row(row, where)
        if s.scientific_name.lower() in seen:
            raise SpeciesListError(f"{where}: {s.scientific_name!r} appears twice")
        seen.add(s.scientific_name.lower())
        species.append(s)
    return SpeciesList(species, source)


def load_csv(path: str | Path) -> SpeciesList:
    """Load a species list CSV file (UTF-8, optional BOM)."""
    path = Path(path)
    return parse_csv(path.read_text(encoding="utf-8"), source=path.name)


def load_bundled(name: str = DEFAULT_LIST) -> SpeciesList:
    """Load a list shipped in protocols/species/ (default: vn_reference, the vertebrates camera traps,
    sound traps and transects record in Vietnam's protected areas, with higher taxa)."""
    path = SPECIES_DIR / f"{_RENAMED.get(name, name)}.csv"
    if not path.exists() or path == SOURCES_CSV:
        available = sorted(p.stem for p in SPECIES_DIR.glob("*.csv") if p != SOURCES_CSV)
        raise FileNotFoundError(f"no bundled species list {name!r}; available: {', '.join(available)}")
    return load_csv(path)
