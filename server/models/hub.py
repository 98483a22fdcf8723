"""National hub: the area servers registered at a hub (peers), which peer owns each record the hub
received (the ownership map), and, on an area server, what it has published to its hub.

Published records land in the standard tables (program, deployment, observation, media...) under the
peer's protected area, with the area's ids; :class:`HubRecord` says which peer sent each one, so one
area's credentials can never write another's records (server/hub/receive.py).
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from .base import fk, id_field, utcnow


class HubPeer(SQLModel, table=True):
    """An area server registered at this hub (`saola hub add-peer`): its protected area and token.

    Only the SHA-256 of the token is kept; the token is shown once.
    """

    __tablename__ = "hub_peer"
    id: str = id_field()
    name: str = Field(max_length=64, unique=True, index=True)
    area_id: str = fk("protected_area.id", ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True, index=True)
    prefix: str = Field(max_length=16)
    # The highest publishing revision received from this peer: a logical clock of the area server,
    # handed back to it so that a restored area server goes on above it (server/hub/protocol.py).
    last_rev: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: Optional[datetime] = None
    revoked_at: Optional[datetime] = None


class HubRecord(SQLModel, table=True):
    """The ownership map of the hub: one record a peer published, its content hash and revision.

    ``rev`` orders versions with the area server's logical clock (never its wall clock): a replayed
    older batch finds a higher ``rev`` here and writes nothing. ``received_at`` is the hub's clock.
    """

    __tablename__ = "hub_record"
    __table_args__ = (Index("ix_hub_record_peer_kind", "peer_id", "kind"),)
    kind: str = Field(primary_key=True, max_length=32)
    record_id: str = Field(primary_key=True, max_length=64)
    peer_id: str = fk("hub_peer.id", ondelete="CASCADE", index=False)
    content_hash: str = Field(max_length=64)
    rev: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    deleted: bool = False
    received_at: datetime = Field(default_factory=utcnow)


class PublishState(SQLModel, table=True):
    """On an area server: the content hash of each record (or file) its hub has acknowledged.

    ``kind`` is a record kind (``observation``...) or a file (``file:thumb``, ``file:original``,
    ``file:report``, keyed by SHA-256). The next run sends only what differs from here, and a
    tombstone for each id here that no longer exists.
    """

    __tablename__ = "publish_state"
    hub: str = Field(primary_key=True, max_length=64)  # SHA-256 prefix of the hub's URL
    kind: str = Field(primary_key=True, max_length=32)
    record_id: str = Field(primary_key=True, max_length=64)
    content_hash: str = Field(max_length=64)
    published_at: datetime = Field(default_factory=utcnow)
