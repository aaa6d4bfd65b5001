"""Sign-in throttling: per client address, per (account, address) pair, and a loose per-account
ceiling.

- Every login, change-password and register attempt counts against its client address, in a
  fixed window (``SHOPKIT_LOGIN_ATTEMPTS_PER_ADDRESS`` / ``SHOPKIT_REGISTER_ATTEMPTS_PER_ADDRESS``
  per ``SHOPKIT_AUTH_THROTTLE_WINDOW_SECONDS``).
- The growing back-off is on the (account, client address) pair: after
  ``SHOPKIT_LOGIN_FAILURES_BEFORE_BACKOFF`` failed checks from one address, that address is
  locked out of that account for ``SHOPKIT_LOGIN_BACKOFF_SECONDS``, doubling with every further
  failure up to ``SHOPKIT_LOGIN_BACKOFF_MAX_SECONDS``; a success clears it. Keyed on the account
  alone, wrong passwords from an attacker's address locked the real owner out as well.
- Account-wide there is only a loose ceiling, ``SHOPKIT_LOGIN_ATTEMPTS_PER_ACCOUNT`` password
  checks per ``SHOPKIT_LOGIN_ACCOUNT_WINDOW_SECONDS``, which bounds a guess spread over many
  addresses without letting one address refuse all the others.
- One (account, address) pair has at most one password check in flight per process; a second
  attempt meanwhile is refused. Otherwise parallel attempts all passed the back-off, which saw
  their failures only once their checks had ended. (A failure is recorded after the check, not
  before: a check the bcrypt queue turned away, ``server_busy``, is no failure.)

An unknown email is an account like any other, so a 429 says nothing about which emails exist.
A refused attempt is :class:`TooManyAttempts` (429, ``Retry-After``) and costs no password
check. The counts live in a :class:`ThrottleStore`: this process's, or with ``SHOPKIT_REDIS_URL``
one in Redis shared by every replica. The bcrypt queue (``security.PasswordHasher``) is never
shared: it guards this process's CPU.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
    per_account: int = 100  # password checks per account per account window; 0: no ceiling
    account_window_seconds: float = 900.0


class SignInThrottle:
    def __init__(self, store: ThrottleStore, policy: ThrottlePolicy) -> None:
        self._store = store
        self._policy = policy
        self.store = store  # shared with other throttles (guest carts) in one place
        self._checking: set[str] = set()  # pairs with a password check in flight here

    async def _address(self, kind: str, client: str | None, limit: int) -> None:
        if client is None or limit <= 0:
            return
        wait = await self._store.hit(
            f"{kind}:addr:{client}", limit=limit, window=self._policy.window_seconds
        )
        if wait > 0:
            raise TooManyAttempts(wait, "Too many attempts from this address; try again later.")

    @staticmethod
    def _pair(account: str, client: str | None) -> str:
        return f"login:pair:{account}|{client or '-'}"

    @asynccontextmanager
    async def password_check(self, account: str, client: str | None) -> AsyncIterator[None]:
        """Admit one password check of ``account`` from ``client``, or refuse it (429).

        The check runs inside the block, which reports it with :meth:`failed` or
        :meth:`succeeded`.
        """
        policy = self._policy
        await self._address("login", client, policy.login_per_address)
        pair = self._pair(account, client)
        wait = await self._store.locked_for(pair)
        if wait > 0:
            raise TooManyAttempts(wait, "Too many failed attempts; try again later.")
        if pair in self._checking:
            raise TooManyAttempts(1.0, "Another attempt for this account is being checked.")
        self._checking.add(pair)
        try:
            if policy.per_account > 0:
                wait = await self._store.hit(
                    f"login:acct:{account}",
                    limit=policy.per_account,
                    window=policy.account_window_seconds,
                )
                if wait > 0:
                    raise TooManyAttempts(wait, "Too many attempts for this account; try later.")
            yield
        finally:
            self._checking.discard(pair)

    async def failed(self, account: str, client: str | None) -> None:
        policy = self._policy
        await self._store.fail(
            self._pair(account, client),
            free=policy.failures_before_backoff,
            base=policy.backoff_seconds,
            cap=policy.backoff_max_seconds,
        )

    async def succeeded(self, account: str, client: str | None) -> None:
        await self._store.clear(self._pair(account, client))

    async def before_register(self, client: str | None) -> None:
        await self._address("register", client, self._policy.register_per_address)

    async def before_reset_request(self, client: str | None) -> None:
        """A password-reset request counts against its address like a login attempt."""
        await self._address("reset", client, self._policy.login_per_address)

    async def before_token_check(self, kind: str, client: str | None) -> None:
        """Admit one check of a mailed token (reset or verification) from ``client``: the
        login's per-address window, and the same growing back-off after repeated misses."""
        await self._address(kind, client, self._policy.login_per_address)
        wait = await self._store.locked_for(f"{kind}:fail:{client or '-'}")
        if wait > 0:
            raise TooManyAttempts(wait, "Too many invalid tokens; try again later.")

    async def token_failed(self, kind: str, client: str | None) -> None:
        policy = self._policy
        await self._store.fail(
            f"{kind}:fail:{client or '-'}",
            free=policy.failures_before_backoff,
            base=policy.backoff_seconds,
            cap=policy.backoff_max_seconds,
        )

    async def account_mail(self, user_id: str, *, per_hour: int) -> float:
        """Count one mail to an account; the seconds to wait when over ``per_hour`` (0: ok)."""
        return await self._store.hit(f"mail:acct:{user_id}", limit=per_hour, window=3600.0)
