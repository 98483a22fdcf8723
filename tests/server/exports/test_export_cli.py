"""`saola export camtrap-dp|dwca` and `saola import camtrap-dp`."""
from __future__ import annotations

import json

from server.exports.validate import validate_camtrap_dp


def test_export_commands(runner, survey, tmp_path):
    out = tmp_path / "pkg"
    # --validate uses the profile and table schemas shipped with Saola: no network, no other folder.
    res = runner.invoke(["export", "camtrap-dp", "--program", survey.program_id, "--out", str(out), "--public",
                         "--validate"])
    assert res.exit_code == 0, res.output
    assert "valid Camtrap DP 1.0.2" in res.output
    report = json.loads(res.output[res.output.index("{"):res.output.rindex("}") + 1])
    assert report["person_media_excluded"] == 1 and report["generalised_deployments"] == 1
    (tmp_path / "nostandards").mkdir()
    res = runner.invoke(["export", "camtrap-dp", "--program", survey.program_id, "--out", str(tmp_path / "pkg2"),
                         "--standards", str(tmp_path / "nostandards")], catch_exceptions=True)
    assert res.exit_code != 0 and "camtrap-dp-profile.json is missing" in res.output
    res = runner.invoke(["export", "dwca", "--area", "PNKB", "--out", str(tmp_path / "a.zip")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "a.zip").is_file()
    res = runner.invoke(["export", "camtrap-dp", "--out", str(out)], catch_exceptions=True)
    assert res.exit_code != 0 and "exactly one of program or protected area" in res.output
    res = runner.invoke(["export", "camtrap-dp", "--program", "nope", "--out", str(out)], catch_exceptions=True)
    assert res.exit_code != 0 and "no program 'nope'" in res.output


def test_import_command(runner, world, shared_dir, tmp_path):
    example = shared_dir / "standards" / "camtrap-dp" / "example"
    res = runner.invoke(["import", "camtrap-dp", str(example)], catch_exceptions=True)
    assert res.exit_code != 0 and "no protected areas yet" in res.output
    world.area("MICA", "Example area")
    res = runner.invoke(["import", "camtrap-dp", str(example)])
    assert res.exit_code == 0, res.output
    assert "4 deployments, 423 media (10 stored, 413 linked), 549 observations" in res.output
    program_id = res.output.strip().splitlines()[-1]
    res = runner.invoke(["import", "camtrap-dp", str(example), "--area", "MICA"])
    assert "already imported" in res.output and res.output.strip().endswith(program_id)
    out = tmp_path / "again"
    res = runner.invoke(["export", "camtrap-dp", "--program", program_id, "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert validate_camtrap_dp(out) == []


def test_import_rejects_broken_packages(runner, world, shared_dir, tmp_path):
    import shutil

    world.area()
    bad = tmp_path / "bad"
    shutil.copytree(shared_dir / "standards" / "camtrap-dp" / "example", bad)
    (bad / "media" / "20210531082538-RCNX0031.JPG").unlink()
    res = runner.invoke(["import", "camtrap-dp", str(bad)], catch_exceptions=True)
    assert res.exit_code != 0
    assert "media.csv line" in res.output and "20210531082538-RCNX0031.JPG" in res.output
    (tmp_path / "empty").mkdir()
    res = runner.invoke(["import", "camtrap-dp", str(tmp_path / "empty")], catch_exceptions=True)
    assert res.exit_code != 0 and "no datapackage.json" in res.output
