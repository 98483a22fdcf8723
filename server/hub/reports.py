"""Annual reports published by an area server: recorded at the hub as the area's report submission
for the year (the reporting status against the 15 March deadline reads these rows)."""
from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from ..errors import ValidationError
from ..models import HubPeer, ReportSubmission


def receive_report(session: Session, peer: HubPeer, body: dict[str, Any], stores) -> dict[str, Any]:
    """Record the report of ``body`` (year, language, PDF and HTML SHA-256, files already sent).

    The same files sent again are the same submission (a replay records nothing new); a corrected
    report is a new row, and the first one received keeps counting for the deadline.
    """
    media_store, _d = stores
    for field, ext in (("pdf_sha256", "pdf"), ("html_sha256", "html")):
        sha = body.get(field)
        if sha and not media_store.exists(media_store.key_for(sha, ext)):
            raise ValidationError(f"the report's {ext.upper()} ({sha[:12]}…) has not been received; send the file first",
                                  details={"field": field})
    if not body.get("pdf_sha256") and not body.get("html_sha256"):
        raise ValidationError("a report needs its PDF or its HTML", details={"field": "pdf_sha256"})
    same = session.exec(select(ReportSubmission).where(
        ReportSubmission.area_id == peer.area_id, ReportSubmission.year == body["year"],
        ReportSubmission.language == body["language"], ReportSubmission.pdf_sha256 == body.get("pdf_sha256"),
        ReportSubmission.html_sha256 == body.get("html_sha256"))).first()
    if same is None:
        same = ReportSubmission(area_id=peer.area_id, year=body["year"], language=body["language"],
                                pdf_sha256=body.get("pdf_sha256"), html_sha256=body.get("html_sha256"),
                                submitted_by=peer.name, source="publish")
        session.add(same)
        session.flush()
        return {"id": same.id, "status": "recorded"}
    return {"id": same.id, "status": "same"}
