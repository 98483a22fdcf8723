"""The saola command: --help everywhere, ids printed, records created."""
import click
import pytest

from server.cli import main


def _commands(group, prefix=()):
    for name, cmd in group.commands.items():
        yield prefix + (name,)
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))


@pytest.mark.parametrize("path", sorted(set(_commands(main))))
def test_every_command_has_help(path):
    from click.testing import CliRunner

    res = CliRunner().invoke(main, [*path, "--help"])
    assert res.exit_code == 0, res.output
    assert "Usage:" in res.output
    cmd = main
    for p in path:
        cmd = cmd.commands[p]
    assert cmd.help, f"saola {' '.join(path)} has no help text"


def test_card_from_the_command_line(runner, client, world):
    res = runner.invoke(["areas", "add", "PNKB", "Phong Nha-Ke Bang", "--name-vi", "Phong Nha-Kẻ Bàng"])
    assert res.exit_code == 0, res.output
    area_id = res.output.strip().splitlines()[-1]
    res = runner.invoke(["deployments", "add", "--area", "PNKB", "--program", "CT 2026", "--location", "S07",
                         "--lat", "17.6", "--lon", "106.3", "--start", "2026-03-01T08:00", "--end",
                         "2026-04-01T08:00", "--serial", "H2-77", "--timezone", "Asia/Ho_Chi_Minh"])
    assert res.exit_code == 0, res.output
    dep_id = res.output.strip().splitlines()[-1]
    assert "created program CT 2026" in res.output
    h = world.headers(world.user("root", admin=True))
    d = client.get(f"/api/v1/deployments/{dep_id}", headers=h).json
    assert d["camera_id"] == "H2-77" and d["deployment_start"].startswith("2026-03-01T01:00")
    loc = client.get(f"/api/v1/locations/{d['location_id']}", headers=h).json
    assert loc["name"] == "S07" and loc["area_id"] == area_id and loc["latitude"] == 17.6
    res = runner.invoke(["deployments", "list", "--area", "PNKB"])
    assert dep_id in res.output


def test_cli_errors_are_clear(runner):
    res = runner.invoke(["deployments", "add", "--area", "NOPE", "--program", "P", "--location", "L",
                         "--start", "2026-01-01"])
    assert res.exit_code != 0 and "no protected area 'NOPE'" in res.output
    runner.invoke(["areas", "add", "A", "Area"])
    res = runner.invoke(["deployments", "add", "--area", "A", "--program", "P", "--location", "L",
                         "--start", "yesterday"])
    assert res.exit_code != 0 and "not an ISO date" in res.output
    res = runner.invoke(["deployments", "add", "--area", "A", "--program", "P", "--location", "L",
                         "--start", "2026-01-02", "--end", "2026-01-01"])
    assert res.exit_code != 0 and "after" in res.output
    res = runner.invoke(["areas", "add", "A", "Again"])
    assert res.exit_code != 0 and "already used" in res.output


def test_users_and_tokens(runner, client):
    res = runner.invoke(["areas", "add", "A", "Area"])
    res = runner.invoke(["users", "add", "lan", "--password", "pass-word-1", "--area", "A:ranger"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(["tokens", "create", "lan", "--days", "3"])
    tok = res.output.strip()
    assert tok.startswith("saola_")
    me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {tok}"})
    assert me.json["username"] == "lan"
    areas = client.get("/api/v1/areas", headers={"Authorization": f"Bearer {tok}"}).json["items"]
    assert [a["code"] for a in areas] == ["A"]
    res = runner.invoke(["users", "add", "x", "--password", "short"])
    assert res.exit_code != 0 and "at least 10" in res.output


def test_help_imports_no_database_or_web_framework():
    """`saola --help` (and tab completion, `saola config`...) stays fast: command modules import
    Flask, SQLAlchemy, the models and the pipelines inside the commands that use them."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys\nfrom server.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = ('flask', 'sqlalchemy', 'sqlmodel', 'numpy', 'PIL', 'tqdm', 'server.models', 'server.db')\n"
            "print('LOADED', sorted(m for m in heavy if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "LOADED []" in out.stdout, out.stdout
