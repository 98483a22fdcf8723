"""The national hub's publishing routes: area servers send their records and files here.

Every route needs an area server's token (``X-Saola-Hub-Token``, from ``saola hub add-peer``) and
answers 404 ``not_a_hub`` on a server that is not a hub (``SAOLA_ROLE=hub``). See
:mod:`server.hub.protocol` for the protocol and :mod:`server.hub.receive` for the rules.
"""
from __future__ import annotations

from typing import Any, Optional

from flask import current_app, jsonify, request
from pydantic import BaseModel, Field

from ..db import get_session
from ..errors import SaolaError
from ..models import HubPeer, ProtectedArea
from .core import endpoint

TAGS = ["hub"]
TOKEN = {"X-Saola-Hub-Token": {"type": "string", "description": "the area server's hub token"}}
DOC = {401: "Missing, unknown or revoked hub token", 404: "This server is not a hub (SAOLA_ROLE=hub)"}


class BatchIn(BaseModel):
    rev: int = Field(ge=1, description="the area server's publishing revision (a logical clock)")
    records: list[dict[str, Any]] = Field(max_length=2000)


class BundleIn(BaseModel):
    files: list[dict[str, Any]] = Field(max_length=5000)


class FileIn(BaseModel):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    variant: str = Field(pattern=r"^(original|report)$")
    size: int = Field(ge=0)
    ext: Optional[str] = Field(default=None, max_length=8)


class ReportIn(BaseModel):
    year: int = Field(ge=2000, le=9999)
    language: str = Field(pattern=r"^(vi|en)$")
    pdf_sha256: Optional[str] = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    html_sha256: Optional[str] = Field(default=None, pattern=r"^[0-9a-f]{64}$")


def _peer() -> HubPeer:
    if current_app.config.get("ROLE") != "hub":
        raise SaolaError("this server is not a national hub (SAOLA_ROLE=hub)", status=404, code="not_a_hub")
    from ..hub.peers import authenticate

    return authenticate(get_session(), request.headers.get("X-Saola-Hub-Token"))


def _stores():
    from ..storage import get_derivatives, get_store

    return get_store(), get_derivatives()


@endpoint("/hub/hello", summary="Who this area server is at the hub: its peer, area and last revision",
          tags=TAGS, auth=False, raw=True, headers=TOKEN, responses=DOC)
def hub_hello():
    peer = _peer()
    area = get_session().get(ProtectedArea, peer.area_id)
    assert area is not None
    return jsonify({"peer": peer.name, "area": {"id": area.id, "code": area.code, "name": area.name},
                    "last_rev": peer.last_rev})


@endpoint("/hub/wanted", summary="The originals the hub asked this area server for (SHA-256), sent by its next run",
          tags=TAGS, auth=False, raw=True, headers=TOKEN, responses=DOC)
def hub_wanted():
    from ..hub.peers import wanted_originals

    peer = _peer()
    return jsonify({"originals": wanted_originals(get_session(), peer)})


@endpoint("/hub/batches", ["POST"], summary="Publish a batch of records (upserts and tombstones)", tags=TAGS,
          auth=False, raw=True, body=BatchIn, headers=TOKEN,
          responses={**DOC, 403: "A record (or a record referred to) belongs to another area server: nothing "
                                 "was written", 422: "A malformed record or an unknown reference: nothing was written"})
def hub_batch(body: BatchIn):
    from ..hub.receive import apply_batch

    peer = _peer()
    s = get_session()
    out = apply_batch(s, peer, body.rev, body.records, current_app.config)
    s.commit()
    return jsonify(out)


@endpoint("/hub/files/bundle", ["POST"], summary="Publish small files (thumbnails, reports), each with its SHA-256",
          tags=TAGS, auth=False, raw=True, body=BundleIn, headers=TOKEN,
          responses={**DOC, 403: "A thumbnail of a media this area server did not publish"})
def hub_bundle(body: BundleIn):
    from ..hub.files import receive_bundle

    peer = _peer()
    s = get_session()
    out = receive_bundle(s, peer, body.files, _stores(), current_app.config["DATA_DIR"])
    s.commit()
    return jsonify({"files": out})


@endpoint("/hub/files", ["POST"], summary="Start or resume a chunked file (original or report): the offset to send from",
          tags=TAGS, auth=False, raw=True, body=FileIn, headers=TOKEN, responses=DOC)
def hub_file_start(body: FileIn):
    from ..hub.files import start_file

    peer = _peer()
    return jsonify(start_file(get_session(), peer, body.model_dump(), _stores(), current_app.config["DATA_DIR"]))


@endpoint("/hub/files/<variant>/<sha256>", ["PATCH"], summary="One chunk of a file at Upload-Offset",
          tags=TAGS, auth=False, raw=True, content_type="application/offset+octet-stream",
          headers={**TOKEN, "Upload-Offset": {"type": "string"}, "Upload-Length": {"type": "string"},
                   "Upload-Checksum": {"type": "string", "description": "sha256 <hex digest of this chunk>"}},
          path={"variant": {"type": "string", "enum": ["original", "report"]},
                "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
          responses={**DOC, 409: "Not the file's current offset (details.offset)",
                     422: "The chunk's SHA-256 differs: nothing written, send it again"})
def hub_file_chunk(variant: str, sha256: str):
    from ..hub.files import receive_chunk

    peer = _peer()
    out = receive_chunk(get_session(), peer, sha256, variant, request.headers.get("Upload-Offset"),
                        request.headers.get("Upload-Checksum"), request.headers.get("Upload-Length"),
                        request.args.get("ext"), request.get_data(cache=False), _stores(),
                        current_app.config["DATA_DIR"])
    return jsonify(out)


@endpoint("/hub/reports", ["POST"], summary="Record the area's annual report for a year (its files sent first)",
          tags=TAGS, auth=False, raw=True, body=ReportIn, headers=TOKEN,
          responses={**DOC, 422: "A file of the report has not been received"})
def hub_report(body: ReportIn):
    from ..hub.reports import receive_report

    peer = _peer()
    s = get_session()
    out = receive_report(s, peer, body.model_dump(), _stores())
    s.commit()
    return jsonify(out)
