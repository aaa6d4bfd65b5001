"""The account mails' text. Each carries its token on a line of its own, ``Token: <token>``,
beside the link, so a person on a phone can tap the link and a script can read the token."""

from __future__ import annotations

from urllib.parse import quote

from shopkit_server.mail import Message


def _link(base: str, page: str, token: str) -> str:
    return f"{base}/{page}?token={quote(token)}"


def password_reset(*, to: str, name: str, token: str, base_url: str, minutes: int) -> Message:
    body = (
        f"Hello {name},\n\n"
        "Someone (hopefully you) asked to reset the password of your account.\n"
        f"Open this link within {minutes} minutes to choose a new one:\n\n"
        f"{_link(base_url, 'reset-password', token)}\n\n"
        f"Token: {token}\n\n"
        "If you did not ask for this, ignore this mail: your password stays as it is.\n"
    )
    return Message(to=to, subject="Reset your password", body=body, kind="password_reset")


def email_verification(*, to: str, name: str, token: str, base_url: str, hours: int) -> Message:
    body = (
        f"Hello {name},\n\n"
        f"Please confirm that {to} is your email address (the link works for {hours} hours):\n\n"
        f"{_link(base_url, 'verify-email', token)}\n\n"
        f"Token: {token}\n"
    )
    return Message(
        to=to, subject="Confirm your email address", body=body, kind="email_verification"
    )
