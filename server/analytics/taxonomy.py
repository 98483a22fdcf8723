"""Counting species when records name taxa of different ranks.

A biologist labels one photo "Muntiacus vaginalis", a blurred one "Muntiacus" (a muntjac,
species unknown) and a far one "Mammalia". That is one species, not three: a record of a
higher taxon counts as a species only when no recorded taxon lies below it
(Ardea + Ardea cinerea + Aves = 1; Muntiacus alone = 1; two genera of one family = 2).
Every species count of Saola (inventory and report, overview page, richness and species
accumulation) goes through :func:`counted`.

Ancestors come from ``Taxon.lineage`` (the reference's parent links); names the reference
does not place are placed by their form: "Genus species" lies below "Genus", "Genus species
subspecies" below "Genus species", and "Genus sp." is the genus itself.
"""
from __future__ import annotations

import re
from typing import Iterable, Mapping, Sequence, TypeVar

from sqlalchemy import select
from sqlmodel import Session

from ..models import Taxon

R = TypeVar("R")
_SP = re.compile(r"\s+(sp|spp|cf|indet)\.?$", re.IGNORECASE)


def key(name: str) -> str:
    """The comparable form of a scientific name: spaces collapsed, case folded, "sp."/"spp." dropped."""
    return _SP.sub("", " ".join((name or "").split())).casefold()


def _implied(name: str) -> list[str]:
    """Ancestors a binomial or trinomial names by its form (its genus, its species)."""
    words = key(name).split()
    return [" ".join(words[:i]) for i in range(1, len(words))] if 1 < len(words) <= 3 else []


def ancestors(name: str, lineages: Mapping[str, Sequence[str]]) -> set[str]:
    """Keys of every taxon above ``name``: its stored lineage and what its form implies."""
    found = {key(a) for a in lineages.get(name, ())}
    found.update(_implied(name))
    found.discard(key(name))
    return found


def counted(recorded: Iterable[str], lineages: Mapping[str, Sequence[str]] | None = None) -> set[str]:
    """The recorded names that count as species: those with no other recorded taxon below them.

    ``lineages``: scientific name -> ancestors' scientific names (see :func:`load_lineages`).
    Two names of one taxon ("Muntiacus" and "Muntiacus sp.") count once, as the first given.
    """
    lineages = lineages or {}
    names = list(dict.fromkeys(n for n in recorded if n))
    first: dict[str, str] = {}
    for n in names:
        first.setdefault(key(n), n)
    covered: set[str] = set()
    for n in first.values():
        covered |= ancestors(n, lineages) & set(first)
    return {n for k, n in first.items() if k not in covered}


def species_count(recorded: Iterable[str], lineages: Mapping[str, Sequence[str]] | None = None) -> int:
    """How many species the recorded names stand for (:func:`counted`)."""
    return len(counted(recorded, lineages))


def keep_counted(records: Iterable[R], name_of, lineages: Mapping[str, Sequence[str]] | None = None) -> list[R]:
    """The records whose taxon counts as a species among all of them (for richness and accumulation)."""
    records = list(records)
    kept = counted((name_of(r) for r in records), lineages)
    keys = {key(n) for n in kept}
    return [r for r in records if key(name_of(r)) in keys]


def load_lineages(session: Session, names: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Scientific name -> ancestors' scientific names (from the top) of the stored taxa named."""
    names = sorted({n for n in names if n})
    out: dict[str, tuple[str, ...]] = {}
    for i in range(0, len(names), 500):  # stay under SQLite's bound-parameter limit
        for name, lineage in session.execute(select(Taxon.scientific_name, Taxon.lineage)
                                             .where(Taxon.scientific_name.in_(names[i:i + 500]))):
            out[name] = tuple(p for p in (lineage or "").split("|") if p)
    return out


def classification(session: Session, taxa: Iterable[Taxon]) -> dict[str, dict[str, str]]:
    """Taxon id -> {rank: scientific name} of its ancestors and itself (kingdom ... genus, species)."""
    taxa = list(taxa)
    wanted = {p for t in taxa for p in (t.lineage or "").split("|") if p}
    ranks = dict(session.execute(select(Taxon.scientific_name, Taxon.rank)
                                 .where(Taxon.scientific_name.in_(sorted(wanted)))).all()) if wanted else {}
    out = {}
    for t in taxa:
        c = {ranks[p]: p for p in (t.lineage or "").split("|") if p in ranks}
        c[t.rank] = t.scientific_name
        out[t.id] = c
    return out
