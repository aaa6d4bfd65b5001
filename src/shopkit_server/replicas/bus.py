"""The replicas' message bus: Redis pub/sub on one channel per shop (``<prefix>events``).

A message is ``<kind>:<origin>:<argument>``; ``origin`` names the process that sent it, which
has already applied it and ignores its own echo. Kinds: ``catalog`` (the catalog changed: drop
every cached read), ``account`` (an account's role or status changed: forget its state) and
``family`` (a refresh-token family was revoked).

Pub/sub delivers at most once: a message sent while a process's subscription is down is lost
for it. So while the subscription is down, :attr:`ReplicaBus.up` is false and every user of
the bus falls back to what holds without it (the cache TTL, the store); on every (re)connect
the *resync* handlers run (drop the whole cache, forget every cached account, reload the
revoked families) before the bus counts as up again.

No call here raises on a Redis failure: a publish that fails is logged and returns ``False``.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable

import structlog
from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

log = structlog.get_logger("shopkit.replicas")

Handler = Callable[[str], None]
Resync = Callable[[], Awaitable[None]]

# What a failing Redis raises: its own errors, a socket error, or a timeout.
REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, asyncio.TimeoutError)
_RECONNECT_FIRST = 0.1
_RECONNECT_MAX = 5.0


def make_client(url: str, timeout: float, *, name: str | None = None) -> Redis:
    """A client that gives up after ``timeout`` and never retries (the caller falls back)."""
    client: Redis = Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        socket_keepalive=True,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
        client_name=name,
    )
    return client


class ReplicaBus:
    def __init__(self, url: str, prefix: str, *, timeout: float) -> None:
        self.prefix = prefix
        self.channel = f"{prefix}events"
        self.origin = uuid.uuid4().hex[:12]
        self.timeout = timeout
        self.redis = make_client(url, timeout)
        # The subscription has a connection of its own, named so that it can be found.
        self._url = url
        self._subscriber_name = f"{prefix}sub:{self.origin}".replace(" ", "_")
        self._handlers: dict[str, Handler] = {}
        self._resyncs: list[Resync] = []
        self._task: asyncio.Task[None] | None = None
        self._up = asyncio.Event()
        self.resyncs = 0  # how many times the subscription came (back) up
        self.heard: dict[str, int] = {}  # messages applied from other processes, by kind
        self.published: dict[str, int] = {}  # messages this process sent, by kind
        self._news = asyncio.Condition()

    @property
    def up(self) -> bool:
        """Whether this process hears every message (subscribed and resynced)."""
        return self._up.is_set()

    @property
    def subscriber_name(self) -> str:
        return self._subscriber_name

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def on(self, kind: str, handler: Handler) -> None:
        """Call ``handler(argument)`` for each ``kind`` message another process sends."""
        self._handlers[kind] = handler

    def on_resync(self, handler: Resync) -> None:
        """Run ``handler`` on every (re)subscription, before the bus counts as up."""
        self._resyncs.append(handler)

    async def publish(self, kind: str, argument: str = "") -> bool:
        """Tell every other process; ``False`` (logged) when Redis did not take it."""
        try:
            await self.redis.publish(self.channel, f"{kind}:{self.origin}:{argument}")
        except REDIS_ERRORS as exc:
            log.warning("redis_publish_failed", kind=kind, error=type(exc).__name__)
            return False
        self.published[kind] = self.published.get(kind, 0) + 1
        return True

    async def start(self) -> None:
        """Subscribe in the background; waits up to the timeout for the first subscription
        (a Redis that does not answer never stops the process from starting)."""
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="shopkit-replica-bus")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._up.wait(), self.timeout * 4)
        if not self.up:
            log.warning("redis_unavailable_at_start", hint="running on in-process state")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._up.clear()
        with contextlib.suppress(*REDIS_ERRORS):
            await self.redis.aclose()

    async def until(self, condition: Callable[[], bool]) -> None:
        """Until ``condition()`` holds, checked after each message heard and each resync."""
        async with self._news:
            await self._news.wait_for(condition)

    async def _news_arrived(self) -> None:
        async with self._news:
            self._news.notify_all()

    async def _listen(self) -> None:
        delay = _RECONNECT_FIRST
        while True:
            client = make_client(self._url, self.timeout, name=self._subscriber_name)
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                # Confirmed by its first reply: from then on nothing sent is missed.
                confirmation = await pubsub.get_message(timeout=self.timeout)
                if confirmation is None or confirmation.get("type") != "subscribe":
                    raise TimeoutError("no subscription confirmation")
                for resync in self._resyncs:
                    await resync()
                self.resyncs += 1
                self._up.set()
                await self._news_arrived()
                log.info("redis_subscribed", channel=self.channel, resyncs=self.resyncs)
                delay = _RECONNECT_FIRST
                while True:
                    message = await pubsub.get_message(timeout=None)
                    is_message = message is not None and message.get("type") == "message"
                    if is_message and self._dispatch(str(message["data"])):
                        await self._news_arrived()
            except asyncio.CancelledError:
                raise
            except REDIS_ERRORS as exc:
                if self.up:
                    log.warning(
                        "redis_subscription_lost",
                        error=type(exc).__name__,
                        fallback="cache TTL and the store until it is back",
                    )
            except Exception:
                # A bug must not end the subscription for good: log it, resubscribe, resync.
                log.exception("redis_subscription_failed")
            finally:
                self._up.clear()
                with contextlib.suppress(*REDIS_ERRORS):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                with contextlib.suppress(*REDIS_ERRORS):
                    await client.aclose()
            await asyncio.sleep(delay)
            delay = min(_RECONNECT_MAX, delay * 2)

    def _dispatch(self, data: str) -> bool:
        kind, _, rest = data.partition(":")
        origin, _, argument = rest.partition(":")
        handler = self._handlers.get(kind)
        if origin == self.origin or handler is None:
            return False  # our own (applied when it was sent), or not ours to know
        handler(argument)
        self.heard[kind] = self.heard.get(kind, 0) + 1
        return True
