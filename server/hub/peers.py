"""Area servers registered at a hub: `saola hub add-peer` (prints the token once), revoke, list,
and the check of the token each publishing request carries."""
from __future__ import annotations

import hmac
import secrets
from typing import Optional

from sqlmodel import Session, select

from ..errors import Conflict, NotFound, Unauthorized, ValidationError
from ..models import HubPeer, ProtectedArea, utcnow
from .protocol import TOKEN_PREFIX, token_hash


def add_peer(session: Session, name: str, area_code: str, area_name: Optional[str] = None) -> tuple[HubPeer, str]:
    """Register the area server ``name`` for the protected area ``area_code`` (made at the hub when
    missing, named ``area_name``); returns the peer and its token (shown once, only its hash kept)."""
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise ValidationError("the peer name must be 1 to 64 characters", details={"field": "name"})
    if session.exec(select(HubPeer).where(HubPeer.name == name)).first() is not None:
        raise Conflict(f"a peer named {name!r} is already registered (revoke it, or choose another name)")
    code = (area_code or "").strip()
    if not code or len(code) > 32:
        raise ValidationError("the area code must be 1 to 32 characters", details={"field": "area"})
    area = session.exec(select(ProtectedArea).where(ProtectedArea.code == code)).first()
    if area is None:
        area = ProtectedArea(code=code, name=(area_name or code)[:200])
        session.add(area)
        session.flush()
    live = session.exec(select(HubPeer).where(HubPeer.area_id == area.id,
                                              HubPeer.revoked_at.is_(None))).first()  # type: ignore[union-attr]
    if live is not None:
        raise Conflict(f"area {code} is already published by peer {live.name!r}; revoke it first")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    peer = HubPeer(name=name, area_id=area.id, token_hash=token_hash(raw), prefix=raw[:16])
    session.add(peer)
    session.flush()
    return peer, raw


def revoke_peer(session: Session, name: str) -> HubPeer:
    """Revoke the token of peer ``name``: its requests are refused (401) from now on."""
    peer = session.exec(select(HubPeer).where(HubPeer.name == name)).first()
    if peer is None:
        raise NotFound(f"no peer named {name!r}")
    if peer.revoked_at is None:
        peer.revoked_at = utcnow()
        session.add(peer)
    return peer


def authenticate(session: Session, raw: Optional[str]) -> HubPeer:
    """The live peer holding token ``raw``, or 401 naming the problem (missing, unknown, revoked)."""
    if not raw:
        raise Unauthorized("this route needs an area server's hub token in the X-Saola-Hub-Token header",
                           code="hub_token_missing")
    h = token_hash(raw.strip())
    peer = session.exec(select(HubPeer).where(HubPeer.token_hash == h)).first()
    if peer is None or not hmac.compare_digest(peer.token_hash, h):
        raise Unauthorized("unknown hub token", code="hub_token_invalid")
    if peer.revoked_at is not None:
        raise Unauthorized(f"the hub token of peer {peer.name!r} was revoked; ask the hub's administrator "
                           "for a new one", code="hub_token_revoked")
    return peer


WANTED_KEY = "hub_wanted_originals:"


def want_originals(session: Session, peer: HubPeer, media_ids: list[str]) -> int:
    """Ask area server ``peer`` for the originals of ``media_ids`` (media it published and the hub
    holds no original of); its next publishing run sends them. Returns how many are now asked for."""
    from sqlmodel import col

    from ..models import HubRecord, Media, ServerState

    rows = session.exec(select(Media.id, Media.sha256).join(HubRecord, col(HubRecord.record_id) == col(Media.id))
                        .where(HubRecord.kind == "media", HubRecord.peer_id == peer.id,
                               col(Media.id).in_(media_ids))).all()
    unknown = set(media_ids) - {mid for mid, _s in rows}
    if unknown:
        raise NotFound(f"no media {sorted(unknown)[0]} published by peer {peer.name!r}")
    key = WANTED_KEY + peer.id
    state = session.get(ServerState, key) or ServerState(key=key, value=[])
    wanted = list(state.value or [])
    wanted += [sha for _mid, sha in rows if sha not in wanted]
    state.value, state.updated_at = wanted, utcnow()
    session.add(state)
    return len(wanted)


def wanted_originals(session: Session, peer: HubPeer) -> list[str]:
    """SHA-256 of the originals the hub asked ``peer`` for and has not received yet."""
    from ..models import ServerState

    state = session.get(ServerState, WANTED_KEY + peer.id)
    return list(state.value or []) if state is not None else []


def original_received(session: Session, peer: HubPeer, sha256: str) -> None:
    """Strike ``sha256`` off the originals asked of ``peer``."""
    from ..models import ServerState

    state = session.get(ServerState, WANTED_KEY + peer.id)
    if state is not None and sha256 in (state.value or []):
        state.value = [s for s in (state.value or []) if s != sha256]
        state.updated_at = utcnow()
        session.add(state)
