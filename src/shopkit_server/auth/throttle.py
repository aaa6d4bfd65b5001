"""Sign-in throttling: per client address and per account, with a growing back-off.

- Every login, change-password and register attempt counts against its client address, in a
  fixed window (``SHOPKIT_LOGIN_ATTEMPTS_PER_ADDRESS`` / ``SHOPKIT_REGISTER_ATTEMPTS_PER_ADDRESS``
  per ``SHOPKIT_AUTH_THROTTLE_WINDOW_SECONDS``).
- Failed password checks count against the account (its email, whether or not an account has
  it, so a 429 says nothing about which emails exist). After
  ``SHOPKIT_LOGIN_FAILURES_BEFORE_BACKOFF`` failures the account is locked for
  ``SHOPKIT_LOGIN_BACKOFF_SECONDS``, doubling with every further failure up to
  ``SHOPKIT_LOGIN_BACKOFF_MAX_SECONDS``; a success clears it.

A refused attempt is :class:`TooManyAttempts` (429, ``Retry-After``) and costs no password
check. The counts live in a :class:`ThrottleStore`.
"""

from __future__ import annotations

from dataclasses import dataclass

from shopkit_server.errors import TooManyAttempts
from shopkit_server.throttle import ThrottleStore


@dataclass(frozen=True)
class ThrottlePolicy:
    window_seconds: float = 60.0
    login_per_address: int = 30  # 0: no per-address limit
    register_per_address: int = 10
    failures_before_backoff: int = 5
    backoff_seconds: float = 1.0
    backoff_max_seconds: float = 900.0


class SignInThrottle:
    def __init__(self, store: ThrottleStore, policy: ThrottlePolicy) -> None:
        self._store = store
        self._policy = policy

    async def _address(self, kind: str, client: str | None, limit: int) -> None:
        if client is None or limit <= 0:
            return
        wait = await self._store.hit(
            f"{kind}:addr:{client}", limit=limit, window=self._policy.window_seconds
        )
        if wait > 0:
            raise TooManyAttempts(wait, "Too many attempts from this address; try again later.")

    async def before_password_check(self, account: str, client: str | None) -> None:
        """Refuse the attempt if the address or the account is over its limit."""
        await self._address("login", client, self._policy.login_per_address)
        wait = await self._store.locked_for(f"login:acct:{account}")
        if wait > 0:
            raise TooManyAttempts(wait, "Too many failed attempts; try again later.")

    async def failed(self, account: str) -> None:
        policy = self._policy
        await self._store.fail(
            f"login:acct:{account}",
            free=policy.failures_before_backoff,
            base=policy.backoff_seconds,
            cap=policy.backoff_max_seconds,
        )

    async def succeeded(self, account: str) -> None:
        await self._store.clear(f"login:acct:{account}")

    async def before_register(self, client: str | None) -> None:
        await self._address("register", client, self._policy.register_per_address)
