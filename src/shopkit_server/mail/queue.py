"""The background sender: requests hand mail over and never wait for it.

A bounded in-process queue and one worker task, started and stopped with the app's lifespan
(``embed.Shop``). A message that fails is tried again after 1 s, 2 s, 4 s... (``retries``
times), then logged as lost: by kind and recipient's domain, never the token or the body.
A *job* (an async callable) may be queued instead of a message: the password-reset request
does its whole lookup there, so its answer takes the same time whether the account exists.
Stopping waits a little for what is queued, then cancels the rest (logged).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

from shopkit_server.mail import Mailer, Message

log = structlog.get_logger("shopkit.mail")

Job = Callable[[], Awaitable[None]]


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "?"


class MailQueue:
    def __init__(
        self,
        mailer: Mailer,
        *,
        sender: str,
        retries: int = 5,
        base_delay: float = 1.0,
        max_queued: int = 10_000,
        drain_seconds: float = 5.0,
    ) -> None:
        self.mailer = mailer
        self.sender = sender
        self.retries = retries
        self.base_delay = base_delay
        self.drain_seconds = drain_seconds
        self._queue: asyncio.Queue[Message | Job] = asyncio.Queue(max_queued)
        self._worker: asyncio.Task[None] | None = None
        self._retrying: set[asyncio.Task[None]] = set()
        self.sent = 0  # delivered messages (tests and /health-like probes read it)

    @property
    def running(self) -> bool:
        return self._worker is not None and not self._worker.done()

    def start(self) -> None:
        if not self.running:
            self._worker = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        worker, self._worker = self._worker, None
        if worker is None:
            return
        try:
            await asyncio.wait_for(self._queue.join(), self.drain_seconds)
        except TimeoutError:
            log.warning("mail_queue_not_drained", left=self._queue.qsize())
        worker.cancel()
        for task in list(self._retrying):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker

    def send(self, message: Message) -> None:
        """Queue a message; returns at once (a full queue drops it, logged)."""
        self._put(message)

    def defer(self, job: Job) -> None:
        """Queue background work (which may queue messages itself)."""
        self._put(job)

    def _put(self, item: Message | Job) -> None:
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            log.error("mail_queue_full", dropped=item.kind if isinstance(item, Message) else "job")

    async def join(self) -> None:
        """Wait until everything queued so far was handled (tests)."""
        await self._queue.join()
        while self._retrying:
            await asyncio.gather(*self._retrying, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                if isinstance(item, Message):
                    await self._deliver(item)
                else:
                    await item()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("mail_job_failed")
            finally:
                self._queue.task_done()

    async def _deliver(self, message: Message, attempt: int = 0) -> None:
        try:
            await self.mailer.send(message, sender=self.sender)
        except Exception as exc:
            if attempt >= self.retries:
                log.error(
                    "mail_lost",
                    kind=message.kind,
                    to_domain=_domain(message.to),
                    attempts=attempt + 1,
                    error=type(exc).__name__,
                )
                return
            delay = self.base_delay * 2**attempt
            log.warning(
                "mail_retry",
                kind=message.kind,
                to_domain=_domain(message.to),
                attempt=attempt + 1,
                delay=delay,
                error=type(exc).__name__,
            )
            # Retried beside the worker, so one dead message never holds up the others.
            task = asyncio.get_running_loop().create_task(self._later(message, attempt + 1, delay))
            self._retrying.add(task)
            task.add_done_callback(self._retrying.discard)
            return
        self.sent += 1

    async def _later(self, message: Message, attempt: int, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._deliver(message, attempt)


def open_mailer(smtp_url: str | None) -> Mailer:
    """The SMTP mailer for ``smtp_url``, or the console mailer when none is set."""
    if smtp_url:
        from shopkit_server.mail.smtp import SmtpMailer

        return SmtpMailer(smtp_url)
    from shopkit_server.mail.console import ConsoleMailer

    return ConsoleMailer()
