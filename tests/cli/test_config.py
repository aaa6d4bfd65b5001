"""The credentials file on its own: private, atomic, tolerant of leftovers."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from shopkit_cli import config
from shopkit_cli.config import ConfigError, Profile


def test_the_config_dir_follows_xdg_and_the_explicit_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHOPKIT_CONFIG_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config.credentials_path() == tmp_path / "xdg" / "shopkit" / "credentials.json"
    monkeypatch.setenv("SHOPKIT_CONFIG_DIR", str(tmp_path / "mine"))
    assert config.credentials_path() == tmp_path / "mine" / "credentials.json"


def test_save_load_delete_round_trip_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "credentials.json"
    old_umask = os.umask(0)  # even with a permissive umask the file is owner-only
    try:
        config.save_profile("a", Profile(base_url="http://a/api", access_token="t1"), path)
        config.save_profile("b", Profile(base_url="http://b/api", email="b@x.io"), path)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert config.load_profile("a", path) == Profile(base_url="http://a/api", access_token="t1")
    assert set(config.load_profiles(path)) == {"a", "b"}
    assert config.delete_profile("a", path) is True
    assert config.delete_profile("a", path) is False
    assert set(config.load_profiles(path)) == {"b"}


def test_a_stale_temp_file_or_symlink_is_not_written_through(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    stale = tmp_path / f".credentials.json.{os.getpid()}.tmp"
    stale.symlink_to(victim)
    config.save_profile("a", Profile(base_url="http://a/api"), path)
    assert victim.read_text() == "untouched"
    assert not stale.exists() and not stale.is_symlink()
    assert config.load_profile("a", path) is not None


def test_unreadable_content_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    for content in ["[]", '{"profiles": []}', '{"profiles": {"a": {"email": "x"}}}', "nope"]:
        path.write_text(content)
        with pytest.raises(ConfigError, match="not a shopkit credentials file"):
            config.load_profiles(path)
    assert config.load_profiles(tmp_path / "absent.json") == {}
