"""Passwords (bcrypt, off the event loop, bounded) and JWTs (HS256, type-checked, pinned)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

import bcrypt
import jwt

from shopkit_server.errors import ServerBusy

ALGORITHM = "HS256"
_T = TypeVar("_T")
BCRYPT_MAX_BYTES = 72
SERVICE_TOKEN_SECONDS = 60
VERIFIED_TOKENS_KEPT = 4096  # per codec: decoded tokens answered without a signature check


class Role(StrEnum):
    CUSTOMER = "customer"
    ADMIN = "admin"


class TokenType(StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"
    SERVICE = "service"  # service-to-service calls under /internal (never a user's token)


class InvalidToken(Exception):
    """The token is malformed, forged, expired or of the wrong type."""


@dataclass(frozen=True)
class Claims:
    sub: str
    type: TokenType
    jti: str
    exp: datetime
    iat: datetime
    role: Role | None = None
    family: str | None = None  # the refresh-token family a user's token belongs to (revocations.py)
    # The account's token version when issued; a password reset bumps it (older tokens die).
    version: int = 0


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds until the access token expires
    refresh_jti: str
    refresh_expires_at: datetime


def cpu_count() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _lower_priority(nice: int) -> None:
    """Make this thread ``nice`` steps nicer than it is, up to 19 (Linux, where niceness is
    per thread; elsewhere the call would name a process, so nothing is done)."""
    if nice and sys.platform == "linux":
        thread = threading.get_native_id()
        with contextlib.suppress(OSError):  # a sandbox that forbids it: hash at full priority
            now = os.getpriority(os.PRIO_PROCESS, thread)
            os.setpriority(os.PRIO_PROCESS, thread, min(19, now + nice))


class PasswordHasher:
    """bcrypt in worker threads of its own, at most ``concurrency`` at once (~0.25 s of CPU
    each at 12 rounds), with a short queue behind them.

    Beyond ``concurrency + queue`` checks admitted at once, or ``per_client`` of one client,
    a new one is refused with :class:`ServerBusy` instead of waiting: a flood of logins gets
    quick 429s, real logins from other clients still find room.

    The hashing threads run ``nice`` steps nicer than the process (Linux; 0: not at all): a
    hash is a quarter second of CPU that nobody is waiting on to the millisecond, so when a
    core is contended the event loop serving every other request goes first instead of
    waiting out the hash's time slice. Where a core is idle, hashing takes it whole.
    """

    def __init__(
        self,
        rounds: int = 12,
        *,
        concurrency: int | None = None,
        queue: int = 8,
        per_client: int = 2,
        nice: int = 0,
    ) -> None:
        self.rounds = rounds
        self.concurrency = concurrency or cpu_count()
        # Exactly ``concurrency`` threads: at most that many hashes run, whatever the callers
        # do (one that gives up leaves its hash running in its thread, or unstarted: dropped).
        self._pool = ThreadPoolExecutor(
            max_workers=self.concurrency,
            thread_name_prefix="shopkit-bcrypt",
            initializer=_lower_priority,
            initargs=(nice,),
        )
        self._room = self.concurrency + queue
        self._per_client = per_client
        self._admitted = 0
        self._by_client: dict[str, int] = {}
        # A real hash to check against when the email is unknown, so that a wrong email and a
        # wrong password take the same time (no user enumeration by timing).
        self._decoy = bcrypt.hashpw(b"decoy-password", bcrypt.gensalt(rounds))

    async def _run(self, client: str | None, fn: Callable[..., _T], *args: object) -> _T:
        held = self._by_client.get(client, 0) if client is not None else 0
        if self._admitted >= self._room or (client is not None and held >= self._per_client):
            raise ServerBusy(retry_after=1)
        self._admitted += 1
        if client is not None:
            self._by_client[client] = held + 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        finally:
            self._admitted -= 1
            if client is not None:
                left = self._by_client[client] - 1
                if left:
                    self._by_client[client] = left
                else:
                    del self._by_client[client]

    async def hash(self, password: str, *, client: str | None = None) -> str:
        raw = password.encode()
        if len(raw) > BCRYPT_MAX_BYTES:  # the schemas refuse this first; never truncate silently
            raise ValueError("password longer than 72 bytes")
        hashed = await self._run(client, bcrypt.hashpw, raw, bcrypt.gensalt(self.rounds))
        return hashed.decode()

    async def verify(
        self, password: str, password_hash: str | None, *, client: str | None = None
    ) -> bool:
        raw = password.encode()
        target = password_hash.encode() if password_hash else self._decoy
        if len(raw) > BCRYPT_MAX_BYTES:
            raw = raw[:0]  # cannot match; still spend the time
        try:
            ok = await self._run(client, bcrypt.checkpw, raw, target)
        except ValueError:  # a corrupt stored hash
            return False
        return ok and password_hash is not None


class TokenCodec:
    """Issues and checks every JWT shopkit uses."""

    def __init__(self, secret: str, *, access_minutes: int = 30, refresh_days: int = 7) -> None:
        self._secret = secret
        self.access_ttl = timedelta(minutes=access_minutes)
        self.refresh_ttl = timedelta(days=refresh_days)
        # Tokens this codec verified, with their expiry: a client sends the same access token
        # on every request, and checking its signature again cost more than a cached read.
        self._verified: dict[tuple[str, TokenType], tuple[float, Claims]] = {}

    def _encode(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def issue(
        self, user_id: str, role: Role, *, family: str | None = None, version: int = 0
    ) -> IssuedTokens:
        """A token pair; both carry ``family`` (default: a new login's, the refresh jti) and
        the account's token ``version``."""
        now = datetime.now(UTC)
        refresh_jti = uuid.uuid4().hex
        family = family or refresh_jti
        refresh_exp = now + self.refresh_ttl
        access = self._encode(
            {
                "sub": user_id,
                "type": TokenType.ACCESS.value,
                "role": role.value,
                "iat": now,
                "exp": now + self.access_ttl,
                "jti": uuid.uuid4().hex,
                "fam": family,
                "ver": version,
            }
        )
        refresh = self._encode(
            {
                "sub": user_id,
                "type": TokenType.REFRESH.value,
                "role": role.value,
                "iat": now,
                "exp": refresh_exp,
                "jti": refresh_jti,
                "fam": family,
                "ver": version,
            }
        )
        return IssuedTokens(
            access_token=access,
            refresh_token=refresh,
            expires_in=int(self.access_ttl.total_seconds()),
            refresh_jti=refresh_jti,
            refresh_expires_at=refresh_exp,
        )

    def issue_service_token(self, service: str) -> str:
        """A short-lived token one service presents to another's ``/internal`` routes."""
        now = datetime.now(UTC)
        return self._encode(
            {
                "sub": f"service:{service}",
                "type": TokenType.SERVICE.value,
                "iat": now,
                "exp": now + timedelta(seconds=SERVICE_TOKEN_SECONDS),
                "jti": uuid.uuid4().hex,
            }
        )

    def decode(self, token: str, expected: TokenType) -> Claims:
        """Verify signature, expiry and type. Raises :class:`InvalidToken` on any doubt.

        A token verified before is answered from a bounded cache until it expires (only
        successes are kept, so a bad token is checked, and refused, every time)."""
        key = (token, expected)
        hit = self._verified.get(key)
        if hit is not None:
            if time.time() < hit[0]:
                return hit[1]
            self._verified.pop(key, None)
            raise InvalidToken("Signature has expired")
        claims = self._verify(token, expected)
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            with contextlib.suppress(KeyError, StopIteration, RuntimeError):
                del self._verified[next(iter(self._verified))]  # forget the oldest
        self._verified[key] = (claims.exp.timestamp(), claims)
        return claims

    def _verify(self, token: str, expected: TokenType) -> Claims:
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],  # pinned: "none" and RS/HS confusion are refused
                options={"require": ["sub", "type", "exp", "iat", "jti"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        if payload.get("type") != expected.value:
            raise InvalidToken("wrong token type")
        sub, jti = payload.get("sub"), payload.get("jti")
        if not isinstance(sub, str) or not isinstance(jti, str):
            raise InvalidToken("malformed claims")
        role: Role | None = None
        if expected is not TokenType.SERVICE:
            try:
                role = Role(str(payload.get("role")))
            except ValueError as exc:
                raise InvalidToken("unknown role") from exc
        family = payload.get("fam")
        version = payload.get("ver", 0)
        return Claims(
            sub=sub,
            type=expected,
            jti=jti,
            role=role,
            family=family if isinstance(family, str) else None,
            version=version if isinstance(version, int) else 0,
            exp=datetime.fromtimestamp(payload["exp"], UTC),
            iat=datetime.fromtimestamp(payload["iat"], UTC),
        )


def generate_secret() -> str:
    return secrets.token_urlsafe(48)


def new_opaque_token() -> tuple[str, str]:
    """A random single-purpose secret (a reset link, a cart token) and its stored hash.

    Only the SHA-256 hex digest is stored: the secret has 256 random bits, so no slow hash is
    needed, and a copy of the database gives nobody a usable token.
    """
    token = secrets.token_urlsafe(32)
    return token, hash_opaque_token(token)


def hash_opaque_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
