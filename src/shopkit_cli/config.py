"""Saved logins: one JSON file of named profiles in the user's config directory.

The file holds bearer tokens, so it is private to its owner: created with mode 0600 inside a
0700 directory, and always rewritten whole through a 0600 temporary file and ``os.replace``,
so a crash or a concurrent ``shopkit`` never leaves a half-written or world-readable file.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

CONFIG_DIR_ENV = "SHOPKIT_CONFIG_DIR"
CREDENTIALS_FILE = "credentials.json"
_FILE_MODE = 0o600
_DIR_MODE = 0o700


class ConfigError(Exception):
    """The credentials file cannot be read or written (the message says why)."""


@dataclass
class Profile:
    """What ``shopkit login`` keeps for one profile."""

    base_url: str
    email: str | None = None
    role: str | None = None
    access_token: str | None = None
    refresh_token: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        base_url = data.get("base_url")
        if not isinstance(base_url, str):
            raise ConfigError("a profile without a base_url")

        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) else None

        return cls(
            base_url=base_url,
            email=text("email"),
            role=text("role"),
            access_token=text("access_token"),
            refresh_token=text("refresh_token"),
        )


def config_dir() -> Path:
    """``$SHOPKIT_CONFIG_DIR``, else the platform's config dir (``$XDG_CONFIG_HOME/shopkit``)."""
    explicit = os.environ.get(CONFIG_DIR_ENV)
    if explicit:
        return Path(explicit)
    import typer  # click's get_app_dir honours XDG_CONFIG_HOME, and macOS/Windows conventions

    return Path(typer.get_app_dir("shopkit"))


def credentials_path() -> Path:
    return config_dir() / CREDENTIALS_FILE


def load_profiles(path: Path | None = None) -> dict[str, Profile]:
    """Every saved profile (none when the file does not exist yet)."""
    return _read(path or credentials_path())[0]


def current_profile(path: Path | None = None) -> str | None:
    """The profile ``shopkit profiles use`` chose, if any."""
    return _read(path or credentials_path())[1]


def use_profile(name: str, path: Path | None = None) -> None:
    """Make ``name`` (a saved profile) the one commands use without ``--profile``."""
    path = path or credentials_path()
    profiles, _ = _read(path)
    if name not in profiles:
        raise ConfigError(f"no saved profile named {name!r}")
    _write(path, profiles, name)


def _read(path: Path) -> tuple[dict[str, Profile], str | None]:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(raw)
        profiles = data["profiles"]
        if not isinstance(profiles, dict):
            raise TypeError
        current = data.get("current")
        return {
            name: Profile.from_dict(value)
            for name, value in profiles.items()
            if isinstance(value, dict)
        }, current if isinstance(current, str) else None
    except (ValueError, KeyError, TypeError, ConfigError):
        raise ConfigError(
            f"{path} is not a shopkit credentials file; remove it and log in again"
        ) from None


@asynccontextmanager
async def profile_lock(path: Path | None = None) -> AsyncIterator[None]:
    """Hold an exclusive lock on a file beside the credentials file (all shopkit processes)."""
    import asyncio  # here, not at import time: `shopkit --help` never needs them

    try:
        import fcntl
    except ImportError:  # Windows has no flock: one process at a time is up to the user
        fcntl = None  # type: ignore[assignment]
    lock_path = (path or credentials_path()).with_name(f"{CREDENTIALS_FILE}.lock")
    try:
        lock_path.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), _FILE_MODE)
    except OSError as exc:
        raise ConfigError(f"cannot lock {lock_path}: {exc.strerror or exc}") from None
    try:
        if fcntl is not None:
            await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor lets the lock go


def load_profile(name: str, path: Path | None = None) -> Profile | None:
    return load_profiles(path).get(name)


def save_profile(name: str, profile: Profile, path: Path | None = None) -> Path:
    """Add or replace one profile, keeping the others."""
    path = path or credentials_path()
    profiles, current = _read(path)
    profiles[name] = profile
    _write(path, profiles, current)
    return path


def delete_profile(name: str, path: Path | None = None) -> bool:
    """Forget one profile; False when there was none by that name."""
    path = path or credentials_path()
    profiles, current = _read(path)
    if profiles.pop(name, None) is None:
        return False
    _write(path, profiles, None if current == name else current)
    return True


def _write(path: Path, profiles: dict[str, Profile], current: str | None) -> None:
    data: dict[str, Any] = {"profiles": {name: asdict(p) for name, p in sorted(profiles.items())}}
    if current is not None:
        data["current"] = current
    body = json.dumps(data, indent=2)
    try:
        path.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        # O_EXCL: never write through a file (or symlink) someone else put there first.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        fd = os.open(tmp, flags, _FILE_MODE)  # the umask can only narrow 0600, never widen it
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(body + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
