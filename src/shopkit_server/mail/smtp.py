"""SMTP delivery with aiosmtplib.

``smtp://user:pass@host:587`` upgrades with STARTTLS when the server offers it;
``smtps://host:465`` speaks TLS from the first byte; ``smtp://127.0.0.1:1025`` (a local relay
such as Mailpit) sends in the clear when no STARTTLS is offered. Each message opens its own
connection: account mail is rare, and nothing is left to go stale between sends.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

import aiosmtplib

from shopkit_server.mail import MailFailed, Message


class SmtpMailer:
    name = "smtp"

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("an SMTP URL looks like smtp://user:pass@host:587 or smtps://host")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout

    def __repr__(self) -> str:  # never the password
        scheme = "smtps" if self.implicit_tls else "smtp"
        return f"SmtpMailer({scheme}://{self.host}:{self.port})"

    async def send(self, message: Message, *, sender: str) -> None:
        email = EmailMessage()
        email["From"] = sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = make_msgid(domain=self.host)
        email.set_content(message.body)
        try:
            await aiosmtplib.send(
                email,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.implicit_tls,
                # None: STARTTLS if the server offers it, plain otherwise (a local relay).
                start_tls=False if self.implicit_tls else None,
                timeout=self.timeout,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            # The exception's class only: its text may quote the server's reply.
            raise MailFailed(type(exc).__name__) from exc
