"""The mailer used when no SMTP server is configured: messages go to the log, whole.

Its point is to show the message (token included) to whoever runs the shop without a mail
server, so it logs at warning level on purpose; set ``SHOPKIT_SMTP_URL`` in production.
"""

from __future__ import annotations

import structlog

from shopkit_server.mail import Message

log = structlog.get_logger("shopkit.mail")


class ConsoleMailer:
    name = "console"

    async def send(self, message: Message, *, sender: str) -> None:
        log.warning(
            "mail_to_log",
            kind=message.kind,
            to=message.to,
            sender=sender,
            subject=message.subject,
            body=message.body,
        )
