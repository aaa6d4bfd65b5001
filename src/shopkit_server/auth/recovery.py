"""Password reset and email verification: single-use tokens sent by mail.

Tokens are 256 random bits, mailed once and stored only as their SHA-256 hash, with an
expiry; spending one is a single atomic store operation, so two requests with one token
cannot both succeed. A completed reset sets the password, bumps the account's token version
(every access token issued before is refused wherever the live account is checked), revokes
every refresh token and every other reset token of the account.

A reset *request* answers before it looks anything up: the lookup, the token and the mail run
on the mail queue, so the answer takes the same time, and says the same, whether or not the
email has an account.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import structlog

from shopkit_server.auth.errors import (
    EmailAlreadyVerified,
    InvalidResetToken,
    InvalidVerificationToken,
    UserNotFound,
)
from shopkit_server.auth.models import AccountToken, TokenPurpose, User, UserChanges
from shopkit_server.auth.repository import (
    AccountTokenRepository,
    RefreshTokenRepository,
    UserRepository,
)
from shopkit_server.auth.throttle import SignInThrottle
from shopkit_server.clock import utc_now
from shopkit_server.errors import TooManyAttempts
from shopkit_server.mail import messages
from shopkit_server.mail.queue import MailQueue
from shopkit_server.security import PasswordHasher, hash_opaque_token, new_opaque_token

log = structlog.get_logger("shopkit.auth")


@dataclass(frozen=True)
class RecoveryPolicy:
    base_url: str = "http://localhost:8000"  # where the shop's reset and verify pages live
    reset_ttl: timedelta = timedelta(minutes=30)
    verification_ttl: timedelta = timedelta(hours=48)
    mails_per_hour: int = 5  # account mails (reset, verification) per account


class AccountRecovery:
    def __init__(
        self,
        *,
        users: UserRepository,
        tokens: AccountTokenRepository,
        refresh_tokens: RefreshTokenRepository,
        passwords: PasswordHasher,
        throttle: SignInThrottle,
        mail: MailQueue,
        policy: RecoveryPolicy,
    ) -> None:
        self.users = users
        self.tokens = tokens
        self.refresh_tokens = refresh_tokens
        self.passwords = passwords
        self.throttle = throttle
        self.mail = mail
        self.policy = policy
        # Called after a change the live-account check must see (set by the auth service).
        self.on_account_change: Callable[[str], Awaitable[object]] | None = None

    # -- password reset -------------------------------------------------------------------

    async def request_password_reset(self, email: str, *, client: str | None) -> None:
        """Queue a reset mail for ``email`` if it has an active account; reveals nothing."""
        await self.throttle.before_reset_request(client)
        account = email.strip().lower()

        async def job() -> None:
            user = await self.users.get_by_email(account)
            if user is None or not user.is_active:
                return
            if await self.throttle.account_mail(user.id, per_hour=self.policy.mails_per_hour):
                log.info("account_mail_throttled", kind="password_reset", user_id=user.id)
                return
            await self._send_reset(user)

        self.mail.defer(job)

    async def send_password_reset(self, user_id: str) -> None:
        """Mail a reset token to an account (an admin's doing; not throttled)."""
        user = await self.users.get(user_id)
        if user is None:
            raise UserNotFound()
        await self._send_reset(user)

    async def _send_reset(self, user: User) -> None:
        token = await self._issue(user, TokenPurpose.PASSWORD_RESET, self.policy.reset_ttl)
        minutes = int(self.policy.reset_ttl.total_seconds() // 60)
        self.mail.send(
            messages.password_reset(
                to=user.email,
                name=user.name,
                token=token,
                base_url=self.policy.base_url,
                minutes=minutes,
            )
        )

    async def confirm_password_reset(
        self, token: str, new_password: str, *, client: str | None
    ) -> User:
        await self.throttle.before_token_check("reset", client)
        # Hashed before the token is spent: a busy hasher (429) leaves the token usable.
        new_hash = await self.passwords.hash(new_password, client=client)
        spent = await self.tokens.consume(
            hash_opaque_token(token), TokenPurpose.PASSWORD_RESET, utc_now()
        )
        user = await self.users.get(spent.user_id) if spent else None
        if spent is None or user is None or not user.is_active:
            await self.throttle.token_failed("reset", client)
            raise InvalidResetToken()
        updated = await self.users.update(
            user.id,
            UserChanges(
                password_hash=new_hash,
                bump_token_version=True,
                # The mail reached the address: that proves it as well as a verification.
                email_verified=True if spent.email == user.email else None,
            ),
        )
        await self.refresh_tokens.revoke_all(user.id)
        await self.tokens.revoke_all(user.id, TokenPurpose.PASSWORD_RESET, utc_now())
        await self._changed(user.id)
        log.info("password_reset", user_id=user.id)
        return updated or user

    # -- email verification ---------------------------------------------------------------

    async def send_verification(self, user: User) -> None:
        token = await self._issue(
            user, TokenPurpose.EMAIL_VERIFICATION, self.policy.verification_ttl
        )
        hours = int(self.policy.verification_ttl.total_seconds() // 3600)
        self.mail.send(
            messages.email_verification(
                to=user.email,
                name=user.name,
                token=token,
                base_url=self.policy.base_url,
                hours=hours,
            )
        )

    async def resend_verification(self, user_id: str, *, throttled: bool = True) -> None:
        user = await self.users.get(user_id)
        if user is None:
            raise UserNotFound()
        if user.email_verified:
            raise EmailAlreadyVerified()
        if throttled:
            wait = await self.throttle.account_mail(user.id, per_hour=self.policy.mails_per_hour)
            if wait > 0:
                raise TooManyAttempts(wait, "Too many mails to this account; try again later.")
        await self.send_verification(user)

    async def verify_email(self, token: str, *, client: str | None) -> User:
        await self.throttle.before_token_check("verify", client)
        spent = await self.tokens.consume(
            hash_opaque_token(token), TokenPurpose.EMAIL_VERIFICATION, utc_now()
        )
        user = await self.users.get(spent.user_id) if spent else None
        # A token proves the address it was sent to: after an email change it proves nothing.
        if spent is None or user is None or spent.email != user.email:
            await self.throttle.token_failed("verify", client)
            raise InvalidVerificationToken()
        updated = await self.users.update(user.id, UserChanges(email_verified=True))
        await self._changed(user.id)
        return updated or user

    async def email_changed(self, user: User) -> None:
        """The account has a new, unverified email: earlier tokens die, a new one is mailed."""
        await self.tokens.revoke_all(user.id, TokenPurpose.EMAIL_VERIFICATION, utc_now())
        await self._changed(user.id)
        await self.send_verification(user)

    # -- shared ---------------------------------------------------------------------------

    async def _issue(self, user: User, purpose: TokenPurpose, ttl: timedelta) -> str:
        token, token_hash = new_opaque_token()
        now = utc_now()
        await self.tokens.add(
            AccountToken(
                token_hash=token_hash,
                user_id=user.id,
                purpose=purpose,
                email=user.email,
                created_at=now,
                expires_at=now + ttl,
            )
        )
        return token

    async def _changed(self, user_id: str) -> None:
        if self.on_account_change is not None:
            await self.on_account_change(user_id)
