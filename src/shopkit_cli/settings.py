"""Loading server settings for the commands that talk to the store directly."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shopkit_cli.output import EXIT_USAGE, fail

if TYPE_CHECKING:
    from shopkit_server.settings import Settings


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment plus command-line overrides; one clear line on error."""
    from pydantic import ValidationError

    from shopkit_server.settings import Settings

    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "settings"
        name = f"--{field.replace('_', '-')}" if field in given else f"SHOPKIT_{field.upper()}"
        fail(f"invalid setting {name}: {first['msg']}", EXIT_USAGE)
