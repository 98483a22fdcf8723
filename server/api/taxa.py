"""Taxa: the species reference (names in three languages, conservation status)."""
from __future__ import annotations

from sqlmodel import select

from ..auth.permissions import require_admin
from ..db import get_session
from ..errors import ValidationError
from ..models import Taxon
from ..models.taxon import RANKS
from ..services.taxa import refresh_lineages, refresh_search_text, search_clause, search_text
from ..services import crud
from .core import endpoint, paginate
from .schemas import TaxonIn, TaxonOut, TaxonPatch, TaxonQuery


@endpoint("/taxa", summary="Search taxa by any name, with or without Vietnamese diacritics", tags=["taxa"],
          query=TaxonQuery, response=TaxonOut)
def list_taxa(query: TaxonQuery):
    stmt = select(Taxon)
    if query.q:
        stmt = search_clause(stmt, query.q)
    for col, val in ((Taxon.rank, query.rank), (Taxon.taxon_group, query.taxon_group),
                     (Taxon.iucn_category, query.iucn_category), (Taxon.sensitive, query.sensitive)):
        if val is not None:
            stmt = stmt.where(col == val)
    return paginate(get_session(), stmt, query, Taxon.scientific_name)


@endpoint("/taxa", ["POST"], summary="Add a taxon (administrators)", tags=["taxa"], body=TaxonIn,
          response=TaxonOut, status=201)
def create_taxon(body: TaxonIn):
    require_admin()
    s = get_session()
    t = Taxon(**body.model_dump())
    if body.parent_id:
        _check_parent(t, crud.get_or_404(s, Taxon, body.parent_id, "parent taxon"))
    refresh_search_text(t)
    t = crud.create(s, t, None, commit=False)
    refresh_lineages(s)
    s.commit()
    return t


def _check_parent(t: Taxon, parent: Taxon) -> None:
    """A parent is of a higher rank than its child (which also keeps the tree free of cycles)."""
    if parent.rank not in RANKS or t.rank not in RANKS or RANKS.index(parent.rank) >= RANKS.index(t.rank):
        raise ValidationError(f"the parent {parent.scientific_name} ({parent.rank}) must be of a higher rank than "
                              f"{t.scientific_name} ({t.rank})",
                              details=[{"field": "parent_id", "message": "not of a higher rank"}])


@endpoint("/taxa/<taxon_id>", summary="One taxon", tags=["taxa"], response=TaxonOut)
def get_taxon(taxon_id: str):
    return crud.get_or_404(get_session(), Taxon, taxon_id, "taxon")


@endpoint("/taxa/<taxon_id>", ["PATCH"], summary="Change a taxon (administrators)", tags=["taxa"],
          body=TaxonPatch, response=TaxonOut)
def patch_taxon(taxon_id: str, body: TaxonPatch):
    require_admin()
    s = get_session()
    t = crud.get_or_404(s, Taxon, taxon_id, "taxon")
    changes = body.model_dump(exclude_unset=True)
    changed = Taxon(**{**t.model_dump(), **changes})
    if changed.parent_id:
        _check_parent(changed, crud.get_or_404(s, Taxon, changed.parent_id, "parent taxon"))
    if "rank" in changes:  # the children must stay below it
        for child in s.exec(select(Taxon).where(Taxon.parent_id == t.id)):
            _check_parent(child, changed)
    changes["search_text"] = search_text(changed)
    t = crud.update(s, t, changes, None, commit=False)
    refresh_lineages(s)  # its children's lineages follow a new name or parent
    s.commit()
    return t


@endpoint("/taxa/<taxon_id>", ["DELETE"], summary="Delete a taxon (administrators)", tags=["taxa"], status=204)
def delete_taxon(taxon_id: str):
    require_admin()
    s = get_session()
    crud.delete(s, crud.get_or_404(s, Taxon, taxon_id, "taxon"), None)
