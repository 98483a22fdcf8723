"""Species reference: names in three languages and conservation status."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlmodel import Field, SQLModel

from .base import fk, id_field, json_field, utcnow

IUCN_CATEGORIES = ("EX", "EW", "CR", "EN", "VU", "NT", "LC", "DD", "NE")
# Sách Đỏ Việt Nam 2007 uses the IUCN 2001 categories of its time: LR (ít nguy cấp) instead of NT/LC.
VN_REDLIST_CATEGORIES = ("EX", "EW", "CR", "EN", "VU", "LR", "DD")
DECREE84_GROUPS = ("IB", "IIB")
CITES_APPENDICES = ("I", "II", "III")
# Ranks from the top down: a taxon's parent has an earlier rank than the taxon.
RANKS = ("kingdom", "phylum", "class", "order", "family", "genus", "species", "subspecies")


class Taxon(SQLModel, table=True):
    """A taxon with scientific, Vietnamese and English names and its protection status."""

    __tablename__ = "taxon"
    id: str = id_field()
    scientific_name: str = Field(max_length=200, unique=True, index=True)
    rank: str = Field(default="species", max_length=32)
    vietnamese_name: Optional[str] = Field(default=None, max_length=200)
    english_name: Optional[str] = Field(default=None, max_length=200)
    taxon_group: Optional[str] = Field(default=None, max_length=64)  # mammal, bird...
    parent_id: Optional[str] = fk("taxon.id", nullable=True)
    iucn_category: Optional[str] = Field(default=None, max_length=4)
    vn_redlist_category: Optional[str] = Field(default=None, max_length=4)
    decree84_group: Optional[str] = Field(default=None, max_length=4)
    cites_appendix: Optional[str] = Field(default=None, max_length=4)
    sensitive: bool = False  # exact locations generalised/withheld in public outputs
    # Alternative names in any language (local names, old scientific names, trade names): searched
    # like the others and sent to the field app, where rangers type "Hoẵng" for Muntiacus vaginalis.
    other_names: list = json_field(list)
    # Diacritic-free, lower-case concatenation of every name, for search.
    search_text: str = Field(default="", index=False)
    # Scientific names of the ancestors, from the top ("Animalia|Chordata|Mammalia|...|Muntiacus"),
    # kept from parent_id by services/taxa.py so analyses need no recursive query.
    lineage: str = Field(default="", max_length=1000)
    # Keys of the references the names and categories come from ("iucn;sdvn2007;nd84-2021"),
    # explained in protocols/species/sources.csv.
    source: Optional[str] = Field(default=None, max_length=200)
    notes: Optional[str] = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
