"""Auth service logic: accounts, passwords, token rotation (no HTTP, no database driver)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from shopkit_server.auth.clients import CartMerger
from shopkit_server.auth.errors import (
    AccountDisabled,
    CannotChangeSelf,
    EmailTaken,
    InvalidCredentials,
    InvalidRefreshToken,
    UserNotFound,
)
from shopkit_server.auth.models import User, UserChanges
from shopkit_server.auth.recovery import AccountRecovery
from shopkit_server.auth.repository import RefreshOutcome, RefreshTokenRepository, UserRepository
from shopkit_server.auth.throttle import SignInThrottle, ThrottlePolicy
from shopkit_server.cart.models import CartMerge, MergeOutcome
from shopkit_server.clock import utc_now
from shopkit_server.errors import UpstreamUnavailable
from shopkit_server.ids import new_id
from shopkit_server.pagination import PageParams, PageResult
from shopkit_server.revocations import RevokedFamilies
from shopkit_server.security import (
    InvalidToken,
    IssuedTokens,
    PasswordHasher,
    Role,
    TokenCodec,
    TokenType,
)
from shopkit_server.store.base import DuplicateKeyError
from shopkit_server.throttle import MemoryThrottleStore

log = structlog.get_logger("shopkit.auth")


@dataclass(frozen=True)
class SignIn:
    """A login's or registration's outcome: the account, its tokens, and what became of the
    guest cart handed in (``None``: none was)."""

    user: User
    tokens: IssuedTokens
    cart_merge: CartMerge | None = None


class AuthService:
    def __init__(
        self,
        *,
        users: UserRepository,
        refresh_tokens: RefreshTokenRepository,
        tokens: TokenCodec,
        passwords: PasswordHasher,
        throttle: SignInThrottle | None = None,
        revoked: RevokedFamilies | None = None,
        on_account_change: Callable[[str], Awaitable[object]] | None = None,
        recovery: AccountRecovery | None = None,
        carts: CartMerger | None = None,
    ) -> None:
        self.users = users
        self.refresh_tokens = refresh_tokens
        self.tokens = tokens
        self.passwords = passwords
        self.throttle = throttle or SignInThrottle(MemoryThrottleStore(), ThrottlePolicy())
        if revoked is None:
            revoked = RevokedFamilies(tokens.refresh_ttl.total_seconds())
        self.revoked = revoked
        # Called after an account's role or status changed (caches in front of the store).
        self.on_account_change = on_account_change
        # Mails verification and reset tokens; None: no account mail (a bare service, tests).
        self.recovery = recovery
        # Merges a guest cart handed in at login; None: cart tokens are ignored.
        self.carts = carts

    async def create_user(
        self,
        *,
        email: str,
        password: str,
        name: str,
        role: Role = Role.CUSTOMER,
        client: str | None = None,
    ) -> User:
        """Create an account. ``email`` must already be normalised (trimmed, lower-cased)."""
        password_hash = await self.passwords.hash(password, client=client)
        user = User(
            id=new_id(),
            email=email,
            name=name,
            role=role,
            is_active=True,
            created_at=utc_now(),
            last_login=None,
            password_hash=password_hash,
        )
        try:
            await self.users.add(user)
        except DuplicateKeyError:
            raise EmailTaken() from None
        return user

    async def register(
        self,
        *,
        email: str,
        password: str,
        name: str,
        client: str | None = None,
        cart_token: str | None = None,
    ) -> SignIn:
        """Sign up; ``client`` (the caller's address) is throttled and shares the hash queue.

        A verification mail is queued; a guest cart's token merges that cart in.
        """
        await self.throttle.before_register(client)
        user = await self.create_user(email=email, password=password, name=name, client=client)
        if self.recovery is not None:
            await self.recovery.send_verification(user)
        tokens = await self._issue(user)
        return SignIn(user, tokens, await self._merge(user.id, cart_token))

    async def login(
        self,
        *,
        email: str,
        password: str,
        client: str | None = None,
        cart_token: str | None = None,
    ) -> SignIn:
        account = email.strip().lower()
        # Throttled by address, by (account, address) and account-wide before any work; an
        # unknown email is an account key like any other, so a 429 tells nothing about which
        # emails exist.
        async with self.throttle.password_check(account, client):
            user = await self.users.get_by_email(account)
            # verify() runs even for an unknown email, so both failures take the same time.
            if not await self.passwords.verify(
                password, user.password_hash if user else None, client=client
            ):
                await self.throttle.failed(account, client)
                raise InvalidCredentials()
            await self.throttle.succeeded(account, client)
        assert user is not None
        if not user.is_active:
            raise AccountDisabled()
        updated = await self.users.update(user.id, UserChanges(last_login=utc_now()))
        user = updated or user
        tokens = await self._issue(user)
        return SignIn(user, tokens, await self._merge(user.id, cart_token))

    async def _merge(self, user_id: str, cart_token: str | None) -> CartMerge | None:
        if cart_token is None or self.carts is None:
            return None
        try:
            return await self.carts.merge(user_id, cart_token)
        except UpstreamUnavailable:
            # The sign-in stands; the guest cart is kept, and a later login can merge it.
            log.warning("cart_merge_unavailable", user_id=user_id)
            return CartMerge(MergeOutcome.UNAVAILABLE)

    async def refresh(self, refresh_token: str) -> IssuedTokens:
        """Rotate: the presented token is spent, a new pair comes back (with the current role).

        A token that was already spent is reuse: its whole family (every token descended from
        the same login) is revoked, so a stolen copy and the legitimate chain both stop. The
        family is recorded in :attr:`revoked` (and, with replicas, published): its tokens are
        then refused everywhere without asking the store.
        """
        try:
            claims = self.tokens.decode(refresh_token, TokenType.REFRESH)
        except InvalidToken:
            raise InvalidRefreshToken() from None
        if claims.family in self.revoked:
            raise InvalidRefreshToken()
        user = await self.users.get(claims.sub)
        if user is None or not user.is_active or claims.version < user.token_version:
            raise InvalidRefreshToken()
        issued = self.tokens.issue(
            user.id, user.role, family=claims.family, version=user.token_version
        )
        outcome = await self.refresh_tokens.rotate(
            claims.jti, user.id, utc_now(), issued.refresh_jti, issued.refresh_expires_at
        )
        if outcome is RefreshOutcome.REUSED:
            log.warning("refresh_token_reused", user_id=user.id)
            if claims.family is not None:
                await self.revoked.revoke(claims.family)
        if outcome is not RefreshOutcome.ROTATED:
            raise InvalidRefreshToken()
        return issued

    async def logout(self, *, user_id: str, refresh_token: str) -> None:
        try:
            claims = self.tokens.decode(refresh_token, TokenType.REFRESH)
        except InvalidToken:
            raise InvalidRefreshToken() from None
        await self.refresh_tokens.revoke(claims.jti, user_id)

    async def get_user(self, user_id: str) -> User:
        user = await self.users.get(user_id)
        if user is None:
            raise UserNotFound()
        return user

    async def me(self, user_id: str) -> User:
        user = await self.get_user(user_id)
        if not user.is_active:
            raise AccountDisabled()
        return user

    async def update_me(self, user_id: str, *, name: str | None, email: str | None) -> User:
        before = await self.me(user_id)
        new_email = email is not None and email != before.email
        # A new address is unproven: it is unverified until its own mail is answered.
        changes = UserChanges(name=name, email=email, email_verified=False if new_email else None)
        try:
            updated = await self.users.update(user_id, changes)
        except DuplicateKeyError:
            raise EmailTaken() from None
        if updated is None:
            raise UserNotFound()
        if new_email and self.recovery is not None:
            await self.recovery.email_changed(updated)
        return updated

    async def change_password(
        self,
        user_id: str,
        *,
        current_password: str,
        new_password: str,
        client: str | None = None,
    ) -> IssuedTokens:
        user = await self.me(user_id)
        # The same limits as a login, on the same account key: an access token alone cannot
        # be used to guess the password faster than the login form allows.
        async with self.throttle.password_check(user.email, client):
            if not await self.passwords.verify(current_password, user.password_hash, client=client):
                await self.throttle.failed(user.email, client)
                raise InvalidCredentials("The current password is wrong.")
            await self.throttle.succeeded(user.email, client)
        new_hash = await self.passwords.hash(new_password, client=client)
        updated = await self.users.update(
            user_id, UserChanges(password_hash=new_hash, bump_token_version=True)
        )
        # Every session started with the old password ends (its refresh tokens, and its access
        # tokens wherever the live account is checked); this one gets a fresh pair.
        await self.refresh_tokens.revoke_all(user_id)
        if self.on_account_change is not None:
            await self.on_account_change(user_id)
        return await self._issue(updated or user)

    async def list_users(self, *, query: str | None, page: PageParams) -> PageResult[User]:
        return await self.users.list(query=query, offset=page.offset, limit=page.page_size)

    async def update_user(
        self, *, actor_id: str, user_id: str, role: Role | None, is_active: bool | None
    ) -> User:
        target = await self.get_user(user_id)
        if target.id == actor_id and (
            (role is not None and role != target.role)
            or (is_active is not None and is_active != target.is_active)
        ):
            # An admin locking themselves out could leave a shop with no admin at all.
            raise CannotChangeSelf()
        updated = await self.users.update(user_id, UserChanges(role=role, is_active=is_active))
        if updated is None:
            raise UserNotFound()
        if is_active is False:
            # A disabled account keeps no session (a refresh would be refused anyway).
            await self.refresh_tokens.revoke_all(user_id)
        if (role is not None or is_active is not None) and self.on_account_change is not None:
            await self.on_account_change(user_id)
        return updated

    async def _issue(self, user: User) -> IssuedTokens:
        issued = self.tokens.issue(user.id, user.role, version=user.token_version)
        await self.refresh_tokens.add(issued.refresh_jti, user.id, issued.refresh_expires_at)
        return issued
