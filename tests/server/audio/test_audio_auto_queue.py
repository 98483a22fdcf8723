"""A recording ingested into an acoustic deployment queues its sound analysis in the same transaction."""
from datetime import datetime, timezone
from pathlib import Path

from sqlmodel import select

from server.db import session_scope
from server.models import Job, Media

SAMPLE = Path(__file__).resolve().parents[3] / "sample_media" / "audio"


def test_ingest_queues_audio_analysis(runner, app, world):
    a = world.area()
    p = world.program(a.id, "Sound traps", protocol="acoustic")
    dep = world.deployment(p, "R01", kind="acoustic", deployment_start=datetime(2026, 2, 1, tzinfo=timezone.utc))
    res = runner.invoke(["ingest", str(SAMPLE), "--deployment", dep.id])
    assert res.exit_code == 0, res.output
    with session_scope(app.config["DATABASE_URL"]) as s:
        media = s.exec(select(Media)).one()
        assert media.kind == "audio" and media.timestamp_source == "audiomoth"
        # 05:00 on 1 March 2026 at UTC+7, as the AudioMoth header says
        assert media.captured_at == datetime(2026, 2, 28, 22, 0, tzinfo=timezone.utc)
        jobs = s.exec(select(Job).where(Job.kind == "audio_analysis")).all()
        assert [j.params for j in jobs] == [{"media_ids": [media.id]}] and jobs[0].area_id == a.id
