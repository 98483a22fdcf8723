"""`saola demo`: the embedded default with the project's own sample media, jobs run for real."""
import json


def _info(output: str) -> dict:
    return json.loads(output[output.index("{"):])


def test_demo_ingests_and_analyses_the_sample_media(runner):
    res = runner.invoke(["demo"])
    assert res.exit_code == 0, res.output
    info = _info(res.output)
    assert info["ingest"]["ingested"] == 8 and info["ingest"]["sequences"] == 3
    assert info["sound"]["ingested"] == 1
    assert info["results"]["failed_jobs"] == []
    assert info["results"]["acoustic_index_minutes"] == 1
    assert info["results"]["detections_by_model"].get("saola-band@1") == 1  # the synthetic song is found
    assert info["taxa"]["created"] > 40
    # A second run stores nothing twice.
    again = _info(runner.invoke(["demo"]).output)
    assert again["ingest"]["ingested"] == 0 and again["ingest"]["duplicates"] == 8
    assert again["sound"]["duplicates"] == 1


def test_demo_photos_are_reviewable_without_a_detector(runner, client, world):
    """Issue 12, done when: on `saola demo` data, with no detector, the camera program's review
    progress counts its sequences (total >= 3) and /review/next returns one."""
    from sqlmodel import select

    from server.models import Detection, User

    info = _info(runner.invoke(["demo"]).output)
    assert "detector" not in info
    with world.session() as s:
        assert s.exec(select(Detection).where(Detection.model != "saola-band@1")).first() is None  # no detector ran
        admin = s.exec(select(User).where(User.username == "admin")).one()
    headers = world.headers(admin)
    r = client.get(f"/api/v1/review/progress?program_id={info['program_id']}", headers=headers)
    assert r.status_code == 200, r.get_json()
    prog = r.get_json()
    assert prog["total"] >= 3 and prog["unreviewed"] == prog["total"] and prog["detector_ran"] is False
    r = client.get(f"/api/v1/review/next?program_id={info['program_id']}", headers=headers)
    item = r.get_json()["item"]
    assert r.status_code == 200 and item is not None
    assert item["deployment"]["program_id"] == info["program_id"] and item["detector_ran"] is False
    assert item["media"] and item["media"][0]["url"]
