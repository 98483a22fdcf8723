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
