"""Species reference: search in any language, CSV import, parents and lineages.

A taxon may name its parent (``Muntiacus vaginalis`` -> ``Muntiacus`` -> ``Cervidae`` ...);
each taxon keeps the scientific names of its ancestors in ``lineage`` so analyses can
tell that a record of ``Muntiacus`` is covered by one of ``Muntiacus vaginalis``
(server/analytics/taxonomy.py) without a recursive query.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Iterable

from sqlmodel import Session, select

from protocols.text import fold

from .. import audit
from ..models import Taxon, utcnow
from ..models.taxon import CITES_APPENDICES, DECREE84_GROUPS, IUCN_CATEGORIES, RANKS as RANK_ORDER
from ..models.taxon import VN_REDLIST_CATEGORIES

IUCN = set(IUCN_CATEGORIES)
# The national Red List column takes the Red Data Book 2007's categories (LR included) and, for lists
# made with the IUCN's current categories (the 2024 national Red List), NT/LC/NE too.
VN_REDLIST = set(VN_REDLIST_CATEGORIES) | IUCN
DECREE84 = set(DECREE84_GROUPS)
CITES = set(CITES_APPENDICES)
RANKS = set(RANK_ORDER)
LINEAGE_SEPARATOR = "|"
# Columns a taxa CSV may have; scientific_name is required.
COLUMNS = ("scientific_name", "rank", "parent", "vietnamese_name", "english_name", "other_names", "taxon_group",
           "iucn_category", "vn_redlist_category", "decree84_group", "cites_appendix", "sensitive", "source", "notes")
#: Columns of codes and alternative names *added* to a taxon's alternative names (camtrapR users label
#: species folders with codes such as PBE or VTA; a table "scientific_name,code" teaches Saola those codes).
CODE_COLUMNS = ("code", "codes", "species_code", "alternative_names", "alternative_name")
#: Descriptive columns: a file without the column leaves the stored value alone (a table of codes does
#: not erase the Vietnamese names).
DESCRIPTIVE = ("vietnamese_name", "english_name", "taxon_group", "iucn_category", "vn_redlist_category",
               "decree84_group", "notes")
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
    out: dict[str, Taxon | None] = {}
    for n in names:
        hit = next((t for t, exact in folded if keys[n] and keys[n] in exact), None)
        if hit is None and keys[n]:
            # An alternative name ("Muntiacus sp.", "bird", "Hoẵng") when exactly one taxon has it.
            others = [t for t in candidates if keys[n] in {fold(o) for o in (t.other_names or [])}]
            hit = others[0] if len(others) == 1 else None
        out[n] = hit
    return out


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


def _rank_of(name: str, given: str) -> str:
    return (given or ("species" if len(name.split()) == 2 else "subspecies" if len(name.split()) == 3
                      else "genus")).lower()


def parse_csv(text: str, known: dict[str, str] | None = None) -> tuple[list[dict], list[str]]:
    """Rows of a taxa CSV as clean dicts, and one error line per bad row.

    ``known``: lower-case scientific name -> rank of the taxa already stored, where a row's
    ``parent`` may also be found. A parent must be in the file or in ``known`` and of a higher
    rank than its child (which also rules out cycles); a row whose parent is refused is refused.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if not reader.fieldnames or "scientific_name" not in [h.strip() for h in reader.fieldnames]:
        return [], ["the CSV has no scientific_name column (header: " + ",".join(reader.fieldnames or []) + ")"]
    rows, errors, seen = [], [], set()
    lines: dict[str, int] = {}
    header = {h.strip().lower() for h in reader.fieldnames if h}
    absent = [c for c in DESCRIPTIVE if c not in header and not (c == "notes" and "checked" in header)]
    for n, raw in enumerate(reader, start=2):
        r = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k}
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
            if vn and vn not in VN_REDLIST:
                raise ValueError(f"unknown national Red List category {vn!r}")
            d84 = r.get("decree84_group", "").upper() or None
            if d84 and d84 not in DECREE84:
                raise ValueError(f"unknown Decree 84 group {d84!r} (IB or IIB)")
            cites = r.get("cites_appendix", "").upper() or None
            if cites and cites not in CITES:
                raise ValueError(f"unknown CITES appendix {cites!r} (I, II or III)")
            rank = _rank_of(name, r.get("rank", ""))
            if rank not in RANKS:
                raise ValueError(f"unknown rank {rank!r}")
            sens = _parse_bool(r.get("sensitive", ""))
            row = {
                "scientific_name": name, "rank": rank,
                "vietnamese_name": r.get("vietnamese_name") or None,
                "english_name": r.get("english_name") or None,
                "taxon_group": r.get("taxon_group") or None,
                "iucn_category": iucn, "vn_redlist_category": vn, "decree84_group": d84,
                "sensitive": sens,
                "notes": r.get("notes") or r.get("checked") or None,
                **({"other_names": split_other_names(r["other_names"])} if "other_names" in r else {}),
                **({"cites_appendix": cites} if "cites_appendix" in r else {}),
                **({"source": r.get("source") or None} if "source" in r else {}),
                **({"parent": " ".join(r["parent"].split()) or None} if "parent" in r else {}),
            }
            for c in absent:
                row.pop(c, None)
            codes = [c for col in CODE_COLUMNS if col in r for c in split_other_names(r[col])]
            if codes:
                row["codes"] = split_other_names(codes)
            if row.get("source") and len(row["source"]) > 200:
                raise ValueError("source is longer than 200 characters")
            rows.append(row)
            lines[name.lower()] = n
        except ValueError as e:
            errors.append(f"line {n}: {e}")
    return _check_parents(rows, errors, lines, known or {})


def _check_parents(rows: list[dict], errors: list[str], lines: dict[str, int],
                   known: dict[str, str]) -> tuple[list[dict], list[str]]:
    """Refuse rows whose parent is unknown or not of a higher rank, then the rows below them."""
    ranks = {**{k.lower(): v for k, v in known.items()}, **{r["scientific_name"].lower(): r["rank"] for r in rows}}
    kept = list(rows)
    while True:
        ok, refused = [], 0
        for r in kept:
            parent = r.get("parent")
            if not parent:
                ok.append(r)
                continue
            where = f"line {lines[r['scientific_name'].lower()]}"
            prank = ranks.get(parent.lower())
            if parent.lower() == r["scientific_name"].lower():
                errors.append(f"{where}: {r['scientific_name']} cannot be its own parent")
            elif prank is None:
                errors.append(f"{where}: parent {parent!r} is neither in the file nor in the reference")
            elif RANK_ORDER.index(prank) >= RANK_ORDER.index(r["rank"]):
                errors.append(f"{where}: parent {parent} ({prank}) must be of a higher rank than "
                              f"{r['scientific_name']} ({r['rank']})")
            else:
                ok.append(r)
                continue
            ranks.pop(r["scientific_name"].lower(), None)  # its children are refused in the next round
            refused += 1
        kept = ok
        if not refused:
            return kept, errors


def known_ranks(session: Session) -> dict[str, str]:
    """Lower-case scientific name -> rank of every stored taxon (the parents a CSV may name)."""
    return {n.lower(): r for n, r in session.exec(select(Taxon.scientific_name, Taxon.rank))}


def lineage_of(t: Taxon, by_id: dict[str, Taxon]) -> str:
    """The ancestors' scientific names from the top, following parent_id (a cycle stops the walk)."""
    names: list[str] = []
    seen = {t.id}
    p = by_id.get(t.parent_id) if t.parent_id else None
    while p is not None and p.id not in seen:
        names.append(p.scientific_name)
        seen.add(p.id)
        p = by_id.get(p.parent_id) if p.parent_id else None
    return LINEAGE_SEPARATOR.join(reversed(names))


def refresh_lineages(session: Session) -> int:
    """Recompute every taxon's lineage from the parent links; returns how many changed."""
    taxa = list(session.exec(select(Taxon)))
    by_id = {t.id: t for t in taxa}
    changed = 0
    for t in taxa:
        lineage = lineage_of(t, by_id)
        if t.lineage != lineage:
            t.lineage = lineage
            changed += 1
    if changed:
        session.flush()
    return changed


def import_rows(session: Session, rows: Iterable[dict], keep_local_names: bool = False) -> ImportReport:
    """Upsert taxa by scientific name (in the caller's transaction), with audit entries.

    A row's ``parent`` (a scientific name in the rows or already stored) sets ``parent_id``;
    lineages are recomputed afterwards. An empty ``sensitive`` makes a new taxon sensitive by
    the default rule and never unmarks a stored one (an administrator's flag survives updates of
    the reference). ``keep_local_names``: alternative names an administrator added are kept
    after the row's own (updates of the bundled reference); otherwise the row's replace them.
    Importing the same rows again changes nothing.
    """
    rep = ImportReport()
    rows = list(rows)
    existing = {t.scientific_name.lower(): t for t in session.exec(select(Taxon))}
    before: dict[str, dict | None] = {}
    touched: list[Taxon] = []
    for r in rows:
        fields = {k: v for k, v in r.items() if k not in ("parent", "codes")}
        if r.get("codes"):
            # Codes are added to the alternative names (the row's, else the stored ones), never replace them.
            t0 = existing.get(r["scientific_name"].lower())
            names = fields.get("other_names", list(t0.other_names or []) if t0 is not None else [])
            fields["other_names"] = split_other_names(list(names) + r["codes"])
        default = default_sensitive(fields.get("iucn_category"), fields.get("decree84_group"))
        t = existing.get(r["scientific_name"].lower())
        if t is None:
            fields["sensitive"] = default if fields.get("sensitive") is None else fields["sensitive"]
            t = Taxon(**fields)
            session.add(t)
            before[t.id] = None
            existing[t.scientific_name.lower()] = t
        else:
            before[t.id] = audit.snapshot(t)
            if fields.get("sensitive") is None:
                fields["sensitive"] = bool(t.sensitive) or default
            if keep_local_names and "other_names" in fields:
                mine = {n.lower() for n in fields["other_names"]}
                fields["other_names"] = fields["other_names"] + [n for n in (t.other_names or [])
                                                                 if n.lower() not in mine]
            for k, v in fields.items():
                setattr(t, k, v)
        touched.append(t)
    session.flush()
    for r, t in zip(rows, touched):
        if "parent" in r:
            parent = existing.get(r["parent"].lower()) if r["parent"] else None
            if r["parent"] and parent is None:
                raise ValueError(f"{r['scientific_name']}: parent {r['parent']!r} is not in the reference")
            t.parent_id = parent.id if parent else None
    session.flush()
    refresh_lineages(session)
    for t in touched:
        refresh_search_text(t)
        after = audit.snapshot(t)
        if before[t.id] is None:
            audit.record(session, "create", "taxon", t.id, area_id=None, after=after)
            rep.created += 1
        elif after == before[t.id]:
            rep.unchanged += 1
        else:
            t.updated_at = utcnow()
            audit.record(session, "update", "taxon", t.id, area_id=None, before=before[t.id],
                         after=audit.snapshot(t))
            rep.updated += 1
    return rep


def reference_path():
    """The species reference shipped with Saola (protocols/species/vn_reference.csv)."""
    from protocols.species import REFERENCE_CSV

    return REFERENCE_CSV


def load_reference(session: Session, path=None) -> tuple[ImportReport, list[str]]:
    """Import or update the bundled species reference (or the CSV at ``path``); (report, errors).

    Nothing is imported when a row is bad. Alternative names administrators added are kept.
    """
    from pathlib import Path

    text = Path(path or reference_path()).read_text(encoding="utf-8")
    rows, errors = parse_csv(text, known_ranks(session))
    if errors:
        return ImportReport(errors=errors), errors
    return import_rows(session, rows, keep_local_names=True), []
