"""Species reference: search in any language and CSV import."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Iterable

from sqlmodel import Session, select

from protocols.text import fold

from .. import audit
from ..models import Taxon, utcnow

IUCN = {"EX", "EW", "CR", "EN", "VU", "NT", "LC", "DD", "NE"}
DECREE84 = {"IB", "IIB"}
RANKS = {"kingdom", "phylum", "class", "order", "family", "genus", "species", "subspecies"}
# Columns a taxa CSV may have; scientific_name is required.
COLUMNS = ("scientific_name", "vietnamese_name", "english_name", "taxon_group", "rank", "iucn_category",
           "vn_redlist_category", "decree84_group", "sensitive", "notes", "other_names")
OTHER_NAMES_MAX = 50  # alternative names per taxon
OTHER_NAME_LENGTH = 200


def split_other_names(value: str | list | None) -> list[str]:
    """Alternative names from a CSV cell ("Hoẵng; Mễn") or a list: trimmed, empty and repeated ones dropped.

    Raises ValueError for too many or too long names (the message says which).
    """
    items = value.split(";") if isinstance(value, str) else list(value or [])
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"alternative names must be text, got {item!r}")
        name = " ".join(item.split())
        if len(name) > OTHER_NAME_LENGTH:
            raise ValueError(f"alternative name {name[:40]!r}... is longer than {OTHER_NAME_LENGTH} characters")
        if name and name.lower() not in (o.lower() for o in out):
            out.append(name)
    if len(out) > OTHER_NAMES_MAX:
        raise ValueError(f"at most {OTHER_NAMES_MAX} alternative names per taxon, got {len(out)}")
    return out


def search_text(t: Taxon) -> str:
    """The folded text a taxon is found by: its three names and its alternative names."""
    names = (t.scientific_name, t.vietnamese_name, t.english_name, *(t.other_names or []))
    return " | ".join(fold(x) for x in names if x)


def refresh_search_text(t: Taxon) -> None:
    t.search_text = search_text(t)


def default_sensitive(iucn: str | None, decree84: str | None) -> bool:
    """Saola's default: Decree 84 group IB and IUCN CR/EN species are sensitive."""
    return decree84 == "IB" or iucn in ("CR", "EN")


def search_clause(stmt, q: str):
    """Restrict a Taxon select to names matching every word of ``q`` (diacritics ignored)."""
    for word in fold(q).split():
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Taxon.search_text.like(f"%{escaped}%", escape="\\"))
    return stmt


def find_taxon(session: Session, name: str) -> Taxon | None:
    """A taxon by exact scientific, Vietnamese or English name (case and diacritics ignored)."""
    return find_taxa(session, [name])[name]


def find_taxa(session: Session, names: Iterable[str]) -> dict[str, Taxon | None]:
    """:func:`find_taxon` of each name, in one query (a sync push names a few species many times)."""
    from sqlalchemy import or_

    names = list(dict.fromkeys(n for n in names if isinstance(n, str)))
    keys = {n: fold(n) for n in names}
    clauses = [search_clause(select(Taxon), n).whereclause for n in names if keys[n]]
    candidates = list(session.exec(select(Taxon).where(or_(*clauses)))) if clauses else []
    folded = [(t, (fold(t.scientific_name), fold(t.vietnamese_name), fold(t.english_name))) for t in candidates]
    return {n: next((t for t, exact in folded if keys[n] and keys[n] in exact), None) for n in names}


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def _parse_bool(v: str) -> bool | None:
    v = (v or "").strip().lower()
    if v == "":
        return None
    if v in ("1", "true", "yes", "y", "x"):
        return True
    if v in ("0", "false", "no", "n"):
        return False
    raise ValueError(f"sensitive must be yes/no, got {v!r}")


def parse_csv(text: str) -> tuple[list[dict], list[str]]:
    """Rows of a taxa CSV as clean dicts, and one error line per bad row."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if not reader.fieldnames or "scientific_name" not in [h.strip() for h in reader.fieldnames]:
        return [], ["the CSV has no scientific_name column (header: " + ",".join(reader.fieldnames or []) + ")"]
    rows, errors, seen = [], [], set()
    for n, raw in enumerate(reader, start=2):
        r = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k}
        name = " ".join(r.get("scientific_name", "").split())
        try:
            if not name:
                raise ValueError("scientific_name is empty")
            if name.lower() in seen:
                raise ValueError(f"{name} appears twice in the file")
            seen.add(name.lower())
            iucn = r.get("iucn_category", "").upper() or None
            if iucn and iucn not in IUCN:
                raise ValueError(f"unknown IUCN category {iucn!r}")
            vn = r.get("vn_redlist_category", "").upper() or None
            if vn and vn not in IUCN:
                raise ValueError(f"unknown national Red List category {vn!r}")
            d84 = r.get("decree84_group", "").upper() or None
            if d84 and d84 not in DECREE84:
                raise ValueError(f"unknown Decree 84 group {d84!r} (IB or IIB)")
            rank = (r.get("rank") or ("species" if len(name.split()) == 2 else
                                      "subspecies" if len(name.split()) == 3 else "genus")).lower()
            if rank not in RANKS:
                raise ValueError(f"unknown rank {rank!r}")
            sens = _parse_bool(r.get("sensitive", ""))
            rows.append({
                "scientific_name": name, "rank": rank,
                "vietnamese_name": r.get("vietnamese_name") or None,
                "english_name": r.get("english_name") or None,
                "taxon_group": r.get("taxon_group") or None,
                "iucn_category": iucn, "vn_redlist_category": vn, "decree84_group": d84,
                "sensitive": default_sensitive(iucn, d84) if sens is None else sens,
                "notes": r.get("notes") or r.get("checked") or None,
                **({"other_names": split_other_names(r["other_names"])} if "other_names" in r else {}),
            })
        except ValueError as e:
            errors.append(f"line {n}: {e}")
    return rows, errors


def import_rows(session: Session, rows: Iterable[dict]) -> ImportReport:
    """Upsert taxa by scientific name (in the caller's transaction), with audit entries."""
    rep = ImportReport()
    existing = {t.scientific_name.lower(): t for t in session.exec(select(Taxon))}
    for r in rows:
        t = existing.get(r["scientific_name"].lower())
        if t is None:
            t = Taxon(**r)
            refresh_search_text(t)
            session.add(t)
            session.flush()
            audit.record(session, "create", "taxon", t.id, area_id=None, after=audit.snapshot(t))
            rep.created += 1
            continue
        before = audit.snapshot(t)
        for k, v in r.items():
            setattr(t, k, v)
        refresh_search_text(t)
        after = audit.snapshot(t)
        if after == before:
            rep.unchanged += 1
            continue
        t.updated_at = utcnow()
        audit.record(session, "update", "taxon", t.id, area_id=None, before=before, after=audit.snapshot(t))
        rep.updated += 1
    return rep
