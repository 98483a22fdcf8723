"""Camera cards uploaded from the browser (server/ingest/cards.py): the manifest, then the bytes
through the resumable upload protocol (``PATCH /api/v1/uploads/<upload_id>``), ingested as a job.

Rangers and above of the deployment's area send cards; the card, its stream and its job are
its sender's (and the area's managers'); members of the area see the cards and reports.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Optional

from flask import current_app
from pydantic import Field
from sqlmodel import select

from .. import audit
from ..auth.permissions import RANK, current_user, load_in_area, scope_query
from ..db import get_session
from ..errors import Forbidden
from ..ingest import cards
from ..models import CardFile, CardUpload, Deployment, Job, Program
from .core import Limit, Offset, endpoint, paginate
from .schemas import In, Out

TAGS = ["media"]


class CardEntry(In):
    """One file of the card as the browser sees it."""

    path: str = Field(min_length=1, max_length=cards.MAX_PATH,
                      description="path inside the card, '/'-separated (e.g. DCIM/100RECNX/RCNX0001.JPG)")
    size: int = Field(ge=0, le=cards.MAX_FILE_BYTES)
    modified_ms: Optional[int] = Field(default=None, ge=0, le=2 ** 53, description="lastModified, ms since 1970")
    error: Optional[str] = Field(default=None, max_length=500,
                                 description="why the browser could not read the file (it is reported skipped)")


class CardIn(In):
    """A card's manifest: every file of the dropped folder or zip, read or not."""

    label: str = Field(default="", max_length=255, description="the folder or zip name")
    files: list[CardEntry] = Field(max_length=cards.MAX_FILES)


class CardFileOut(Out):
    idx: int
    path: str
    size: int
    start: int = Field(description="where the file starts in the upload stream (-1: not sent)")
    end: int
    skip_reason: Optional[str]


class CardJobOut(Out):
    id: str
    status: str
    progress_done: int
    progress_total: int
    error: Optional[str]


class CardOut(Out):
    """A card upload: its stream (upload id, offset, size), ingest job and report so far."""

    id: str
    deployment_id: str
    status: Literal["receiving", "ingesting", "done", "failed", "cancelled"]
    label: str
    files_total: int
    files_accepted: int
    files_received: int
    files_done: int
    bytes_total: int
    upload_id: str
    offset: int
    resumed: bool = False
    job: Optional[CardJobOut] = None
    report: dict[str, Any]
    files: Optional[list[CardFileOut]] = Field(default=None, description="the manifest (on creation, or ?files=1)")
    created_at: datetime
    updated_at: datetime
    finished_at: Optional[datetime]


class CardQuery(In):
    files: bool = Field(default=False, description="include the manifest with each file's place in the stream")


class CardListQuery(In):
    limit: Limit = 20
    offset: Offset = 0
    area_id: Optional[str] = None
    deployment_id: Optional[str] = None
    status: Optional[Literal["receiving", "ingesting", "done", "failed", "cancelled"]] = None


class SkipIn(In):
    idx: int = Field(ge=0, le=cards.MAX_FILES)
    reason: str = Field(min_length=1, max_length=500, description="the browser's error, e.g. NotReadableError")


def card_view(card: CardUpload, *, files: bool = False, resumed: bool = False) -> dict[str, Any]:
    """The card as the API answers it."""
    s = get_session()
    up = cards.stream_of(s, card.id)
    job = s.get(Job, card.job_id) if card.job_id else None
    out: dict[str, Any] = {
        "id": card.id, "deployment_id": card.deployment_id, "status": card.status, "label": card.label,
        "files_total": card.files_total, "files_accepted": card.files_accepted,
        "files_received": cards.files_received(s, card.id, up.offset), "files_done": card.files_done,
        "bytes_total": card.bytes_total, "upload_id": up.id, "offset": up.offset, "resumed": resumed,
        "job": CardJobOut.model_validate(job, from_attributes=True) if job else None,
        "report": cards.composed_report(s, card), "created_at": card.created_at, "updated_at": card.updated_at,
        "finished_at": card.finished_at, "files": None}
    if files:
        out["files"] = [CardFileOut.model_validate(f, from_attributes=True) for f in s.exec(
            select(CardFile).where(CardFile.card_id == card.id).order_by(CardFile.idx))]
    return CardOut.model_validate(out).model_dump(mode="json")


def _card(card_id: str, minimum: str = "viewer") -> tuple[CardUpload, Any]:
    acc = load_in_area(get_session(), CardUpload, card_id, minimum)
    return acc.row, acc


def _own_or_manager(card: CardUpload, acc) -> None:
    """Changing a card: its sender, or a manager of its area."""
    if card.user_id != current_user().id and acc.role != "admin" and RANK.get(acc.role, -1) < RANK["manager"]:
        raise Forbidden("only whoever sent this card, or a manager of its area, may change it")


@endpoint("/deployments/<deployment_id>/cards", ["POST"],
          summary="Start (or resume) a browser card upload: the manifest of a folder or zip (rangers)", tags=TAGS,
          body=CardIn, response=CardOut, status=201, raw=True,
          responses={200: ("The same card sent before by you: resume it at `offset`", CardOut)},
          description="Files ingest would skip are listed with the reason and not sent. Then send the card's "
          "bytes (the accepted files end to end, in `files` order) with PATCH /uploads/{upload_id} at "
          "Upload-Offset, each chunk with Upload-Checksum: sha256 <base64>. Complete files are ingested as "
          "they arrive (job `card_ingest`); GET /cards/{card_id} follows it to the report.")
def create_card(deployment_id: str, body: CardIn):
    from ..jobs import dispatch

    s = get_session()
    acc = load_in_area(s, Deployment, deployment_id, "ranger")
    dep: Deployment = acc.row
    card, up, resumed = cards.create_card(s, current_user(), dep, [e.model_dump() for e in body.files],
                                          body.label, acc.area_id)
    jobs = cards.ensure_ingest_job(s, card) if up.completed_at is not None and card.status != "done" else []
    s.commit()
    for job_id in jobs:
        dispatch(job_id)
    return card_view(card, files=True, resumed=resumed), 200 if resumed else 201


@endpoint("/cards/<card_id>", summary="A card upload: bytes received, ingest progress, the report so far",
          tags=TAGS, query=CardQuery, response=CardOut)
def get_card(card_id: str, query: CardQuery):
    return card_view(_card(card_id)[0], files=query.files)


@endpoint("/cards", summary="Card uploads of your areas, newest first (filters: area, deployment, status)",
          tags=TAGS, query=CardListQuery, response=CardOut)
def list_cards(query: CardListQuery):
    s = get_session()
    stmt = (select(CardUpload).join(Deployment, Deployment.id == CardUpload.deployment_id)
            .join(Program, Program.id == Deployment.program_id))
    stmt = scope_query(s, stmt, Program.area_id, query.area_id)
    if query.deployment_id is not None:
        stmt = stmt.where(CardUpload.deployment_id == query.deployment_id)
    if query.status is not None:
        stmt = stmt.where(CardUpload.status == query.status)
    page = paginate(s, stmt, query, CardUpload.created_at.desc())
    page.items = [card_view(c) for c in page.items]
    return page


@endpoint("/cards/<card_id>/skip", ["POST"],
          summary="Take a file the browser could not read out of the card (reported skipped 'cannot read')",
          tags=TAGS, body=SkipIn, response=CardOut,
          responses={409: "The file has been received whole already"},
          description="The files after it move up in the stream: the answer lists the new places (`files`) "
                      "and the offset to go on from.")
def skip_card_file(card_id: str, body: SkipIn):
    from ..jobs import dispatch

    s = get_session()
    card, acc = _card(card_id, "ranger")
    _own_or_manager(card, acc)
    cards.drop_file(s, current_app.config["DATA_DIR"], card, body.idx, body.reason)
    up = cards.stream_of(s, card.id)
    jobs = cards.ensure_ingest_job(s, card) if up.completed_at is not None else []
    s.commit()
    for job_id in jobs:
        dispatch(job_id)
    return card_view(card, files=True)


@endpoint("/cards/<card_id>", ["DELETE"],
          summary="Abandon a card upload: its job is cancelled and the bytes not yet ingested dropped "
          "(what was ingested stays)", tags=TAGS, status=204)
def delete_card(card_id: str):
    from ..models import utcnow

    s = get_session()
    card, acc = _card(card_id, "ranger")
    _own_or_manager(card, acc)
    if card.job_id:
        job = s.get(Job, card.job_id)
        if job is not None and job.status in cards.ACTIVE_JOB:
            job.status, job.finished_at = "cancelled", utcnow()
            s.add(job)
    audit.record(s, "delete", "card_upload", card.id, area_id=acc.area_id,
                 before={"label": card.label, "status": card.status, "files_done": card.files_done})
    s.delete(card)  # its files and its stream go with it (ON DELETE CASCADE)
    s.commit()
    cards.remove_staging(current_app.config["DATA_DIR"], card_id)
    return None
