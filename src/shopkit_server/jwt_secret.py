"""Where the JWT secret comes from when the settings do not name one."""

from __future__ import annotations

import os
from pathlib import Path

import structlog

from shopkit_server.security import generate_secret
from shopkit_server.settings import Settings

log = structlog.get_logger("shopkit.secret")


class MissingSecret(Exception):
    pass


def secret_file(settings: Settings) -> Path:
    if settings.is_sqlite:
        db = settings.sqlite_path
        return db.with_name(db.name + ".jwt-secret")
    return Path(".shopkit-jwt-secret")


def resolve_jwt_secret(settings: Settings, *, all_in_one: bool) -> str:
    """The configured secret; in all-in-one mode, else one generated once and kept on disk.

    Services run apart must share one configured secret (each validates the others' tokens), so
    there a missing secret is refused rather than invented.
    """
    if settings.jwt_secret_key:
        return settings.jwt_secret_key
    if not all_in_one:
        raise MissingSecret(
            "SHOPKIT_JWT_SECRET_KEY is required when services run apart "
            "(every service must share it)"
        )
    path = secret_file(settings)
    if path.exists():
        secret = path.read_text().strip()
        if len(secret) >= 32:
            return secret
    secret = generate_secret()
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL + 0600: never readable by others, never clobbering a file another process just wrote.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    log.warning(
        "generated_jwt_secret",
        path=str(path),
        hint="set SHOPKIT_JWT_SECRET_KEY in production; tokens are signed with this file's key",
    )
    return secret
