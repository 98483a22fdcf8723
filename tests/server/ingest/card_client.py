"""A test client of browser card uploads: what the page's script does, in Python (manifest, then
the card's bytes in checksummed chunks through PATCH /api/v1/uploads/<id>)."""
from __future__ import annotations

import base64
import hashlib
from pathlib import Path


def manifest(root: Path, errors: dict[str, str] | None = None) -> list[dict]:
    """The manifest of every file under ``root`` (paths relative to it, like a dropped folder)."""
    out = []
    for p in sorted(root.rglob("*")):
        if p.is_file():
            rel = p.relative_to(root).as_posix()
            entry = {"path": rel, "size": p.stat().st_size, "modified_ms": int(p.stat().st_mtime * 1000)}
            if errors and rel in errors:
                entry["error"] = errors[rel]
            out.append(entry)
    return out


def checksum(chunk: bytes) -> str:
    return "sha256 " + base64.b64encode(hashlib.sha256(chunk).digest()).decode()


def stream_bytes(card: dict, root: Path) -> bytes:
    """The card's stream as the server laid it out (accepted files end to end)."""
    files = sorted((f for f in card["files"] if f["start"] >= 0), key=lambda f: f["start"])
    return b"".join((root / f["path"]).read_bytes() for f in files)


def send(client, headers: dict, card: dict, root: Path, chunk: int = 64 * 1024, stop_after: int | None = None,
         data: bytes | None = None) -> dict:
    """PATCH the stream from the card's offset in ``chunk``-byte pieces (``stop_after`` chunks at most);
    returns the last upload answer."""
    data = stream_bytes(card, root) if data is None else data
    url = f"/api/v1/uploads/{card['upload_id']}"
    offset = client.get(url, headers=headers).get_json()["offset"]
    sent, last = 0, {"offset": offset}
    while offset < len(data) and (stop_after is None or sent < stop_after):
        piece = data[offset:offset + chunk]
        r = client.patch(url, data=piece, headers={**headers, "Upload-Offset": str(offset),
                                                   "Upload-Checksum": checksum(piece),
                                                   "Content-Type": "application/offset+octet-stream"})
        assert r.status_code == 200, r.get_data(as_text=True)
        last = r.get_json()
        offset = last["offset"]
        sent += 1
    return last
