"""The settings registry: typed, documented, printed by `saola config`."""
from pathlib import Path

import pytest

from server import settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_has_help_and_default():
    for s in settings.REGISTRY.values():
        assert s.help and len(s.help) > 15, f"{s.env} has no useful help text"
        assert s.default is not None, f"{s.env} has no default"


def test_every_setting_is_documented_in_readme():
    text = README.read_text(encoding="utf-8")
    missing = [s.env for s in settings.REGISTRY.values() if s.env not in text]
    assert not missing, f"settings missing from README.md: {missing}"


def test_environment_overrides_and_types():
    cfg = settings.load(environ={"SAOLA_PORT": "8123", "SAOLA_DATA_DIR": "/tmp/x"})
    assert cfg["PORT"] == 8123 and cfg["DATA_DIR"] == "/tmp/x"
    with pytest.raises(ValueError, match="SAOLA_PORT"):
        settings.load(environ={"SAOLA_PORT": "eighty"})


def test_overrides_beat_environment():
    cfg = settings.load({"SAOLA_PORT": 9000}, environ={"SAOLA_PORT": "8123"})
    assert cfg["PORT"] == 9000


def test_derived_paths(tmp_path):
    cfg = settings.resolve_paths(settings.load(environ={"SAOLA_DATA_DIR": str(tmp_path)}))
    assert cfg["DATABASE_URL"] == f"sqlite:///{tmp_path / 'saola.db'}"
    assert cfg["MEDIA_DIR"] == str(tmp_path / "media")
    key = (tmp_path / "secret_key").read_text()
    assert cfg["SECRET_KEY"] == key and len(key) >= 32
    # The key survives a restart.
    assert settings.resolve_paths(settings.load(environ={"SAOLA_DATA_DIR": str(tmp_path)}))["SECRET_KEY"] == key


def test_config_command_prints_every_setting(runner):
    out = runner.invoke(["config"]).output
    for s in settings.REGISTRY.values():
        assert s.env in out
