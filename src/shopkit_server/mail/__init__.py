"""Outgoing mail: a :class:`Mailer` interface, two mailers, and the queue that sends.

- :class:`~shopkit_server.mail.smtp.SmtpMailer` (``SHOPKIT_SMTP_URL``) sends over SMTP;
- :class:`~shopkit_server.mail.console.ConsoleMailer`, used when no SMTP server is set,
  writes each whole message to the log, so an embedded or development shop still shows the
  reset and verification tokens somewhere (the server says at start that mail goes to the log).

Services never wait for a mail: they hand a :class:`Message` (or a job that builds and sends
some) to the :class:`~shopkit_server.mail.queue.MailQueue`, which sends in the background,
retries with exponential back-off and logs a failure without the message's body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    body: str  # plain text; every account mail carries its token on a "Token: ..." line
    kind: str = "mail"  # what it is, for logs ("password_reset", "email_verification")


class Mailer(Protocol):
    """Delivers one message or raises (the queue retries)."""

    name: str  # "smtp" or "console", for logs

    async def send(self, message: Message, *, sender: str) -> None: ...


class MailFailed(Exception):
    """A message could not be delivered (the queue retries, then logs and drops it)."""


__all__ = ["MailFailed", "Mailer", "Message"]
