"""Annual reports published by an area server: recorded at the hub as the area's report submission
for the year through :func:`server.reports.submissions.record_submission` (the reporting status
against the 15 March deadline reads those rows)."""
from __future__ import annotations

from typing import Any

from sqlmodel import Session

from ..errors import ValidationError
from ..models import HubPeer


def receive_report(session: Session, peer: HubPeer, body: dict[str, Any], stores) -> dict[str, Any]:
    """Record the report of ``body`` (year, language, PDF and HTML SHA-256; the files sent first).

    The same files sent again are the same submission (a replay records nothing new); a corrected
    report is a new row, and the first one received keeps counting for the deadline.
    """
    from ..reports.submissions import record_submission

    media_store, _d = stores
    for field, ext in (("pdf_sha256", "pdf"), ("html_sha256", "html")):
        sha = body.get(field)
        if sha and not media_store.exists(media_store.key_for(sha, ext)):
            raise ValidationError(f"the report's {ext.upper()} ({sha[:12]}…) has not been received; send the file first",
                                  details={"field": field})
    row, created = record_submission(session, peer.area_id, body.get("year"), body.get("language") or "",
                                     pdf_sha256=body.get("pdf_sha256"), html_sha256=body.get("html_sha256"),
                                     submitted_by=peer.name, source="publish")
    session.flush()
    return {"id": row.id, "status": "recorded" if created else "same"}
