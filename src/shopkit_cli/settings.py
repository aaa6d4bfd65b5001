"""Loading server settings for the commands that talk to the store directly."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shopkit_cli.output import EXIT_USAGE, fail

if TYPE_CHECKING:
    from pydantic import ValidationError

    from shopkit_server.settings import Settings

# Pydantic's framing of a message, not words for a person (the value is never shown: a
# setting may be a secret or a URL with a password).
_PREFIXES = ("Value error, ", "Assertion failed, ")


def plain_message(message: str) -> str:
    """``Value error, the URL must ...`` -> ``the URL must ...``; ``Input should be`` ->
    ``must be``."""
    for prefix in _PREFIXES:
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if message.startswith("Input should be "):
        message = "must be " + message[len("Input should be ") :]
    elif message.startswith("String should have "):
        message = "must have " + message[len("String should have ") :]
    return message.rstrip(".")


def first_error(exc: ValidationError) -> tuple[str, str]:
    """The first failing field's name and its message in plain words."""
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "settings"
    return field, plain_message(first["msg"])


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment plus command-line overrides; one clear line on error."""
    from pydantic import ValidationError

    from shopkit_server.settings import Settings

    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        field, message = first_error(exc)
        name = f"--{field.replace('_', '-')}" if field in given else f"SHOPKIT_{field.upper()}"
        fail(f"invalid setting {name}: {message}", EXIT_USAGE)
