"""``client.auth``: register, log in, tokens and the caller's own profile."""

from __future__ import annotations

from typing import Unpack

import httpx

from shopkit._types import NOT_GIVEN, NotGiven, RequestOptions, strip_not_given
from shopkit.resources._resource import AsyncAPIResource
from shopkit.types.auth import AuthResult, TokenPair, User


class AsyncAuth(AsyncAPIResource):
    async def register(
        self, *, email: str, password: str, name: str, **options: Unpack[RequestOptions]
    ) -> AuthResult:
        """Create a customer account; the client keeps the tokens it gets back.

        A guest cart the client holds is merged into the new account's (``result.cart_merge``).
        """
        response = await self._client.request(
            "POST",
            "/auth/register",
            json={"email": email, "password": password, "name": name},
            headers=self._cart_header(),
            authenticated=False,
            options=options,
        )
        return await self._signed_in(response)

    async def login(
        self, *, email: str, password: str, **options: Unpack[RequestOptions]
    ) -> AuthResult:
        """Log in; the client keeps the tokens and sends them from now on.

        A guest cart the client holds is merged into the account's (``result.cart_merge``).
        """
        response = await self._client.request(
            "POST",
            "/auth/login",
            json={"email": email, "password": password},
            headers=self._cart_header(),
            authenticated=False,
            options=options,
        )
        return await self._signed_in(response)

    def _cart_header(self) -> dict[str, str]:
        token = self._client.cart_token
        return {"X-Cart-Token": token} if token else {}

    async def _signed_in(self, response: httpx.Response) -> AuthResult:
        result: AuthResult = self._client.parse(AuthResult, response)
        await self._client.set_tokens(result.tokens)
        if result.cart_merge is not None and result.cart_merge.outcome != "unavailable":
            self._client.cart_token = None  # merged, or no longer good for anything
        return result

    async def request_password_reset(
        self, *, email: str, **options: Unpack[RequestOptions]
    ) -> None:
        """Ask for a reset mail (the server answers the same whether the account exists)."""
        await self._client.request(
            "POST",
            "/auth/password-reset",
            json={"email": email},
            authenticated=False,
            options=options,
        )

    async def confirm_password_reset(
        self, *, token: str, new_password: str, **options: Unpack[RequestOptions]
    ) -> None:
        """Set a new password with the mailed token; every session of the account ends."""
        await self._client.request(
            "POST",
            "/auth/password-reset/confirm",
            json={"token": token, "new_password": new_password},
            authenticated=False,
            options=options,
        )

    async def verify_email(self, *, token: str, **options: Unpack[RequestOptions]) -> User:
        """Confirm the email address with the mailed token."""
        response = await self._client.request(
            "POST",
            "/auth/verify-email",
            json={"token": token},
            authenticated=False,
            options=options,
        )
        user: User = self._client.parse(User, response)
        return user

    async def resend_verification(self, **options: Unpack[RequestOptions]) -> None:
        """Mail a new verification token to the logged-in user's address."""
        await self._client.request("POST", "/auth/verify-email/resend", options=options)

    async def refresh(self, *, refresh_token: str | None = None) -> TokenPair:
        """Trade the refresh token (the client's own by default) for a new pair.

        The client does this by itself when an access token expires; call it to rotate early.
        """
        return await self._client.refresh_tokens(refresh_token)

    async def logout(
        self, *, refresh_token: str | None = None, **options: Unpack[RequestOptions]
    ) -> None:
        """Revoke the refresh token on the server and forget both tokens."""
        token = refresh_token or self._client.refresh_token
        if token is None:
            raise ValueError("no refresh token to revoke: log in first, or pass refresh_token=")
        await self._client.request(
            "POST", "/auth/logout", json={"refresh_token": token}, options=options
        )
        if token == self._client.refresh_token:
            self._client.clear_tokens()

    async def me(self, **options: Unpack[RequestOptions]) -> User:
        """The logged-in user."""
        response = await self._client.request("GET", "/auth/me", options=options)
        user: User = self._client.parse(User, response)
        return user

    async def update_me(
        self,
        *,
        name: str | NotGiven = NOT_GIVEN,
        email: str | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> User:
        """Change the caller's name and/or email (only the fields given are sent)."""
        body = strip_not_given({"name": name, "email": email})
        response = await self._client.request("PATCH", "/auth/me", json=body, options=options)
        user: User = self._client.parse(User, response)
        return user

    async def change_password(
        self, *, current_password: str, new_password: str, **options: Unpack[RequestOptions]
    ) -> TokenPair:
        """Change the password; every other session's refresh token stops working.

        The server answers with a fresh pair, which the client keeps.
        """
        response = await self._client.request(
            "POST",
            "/auth/change-password",
            json={"current_password": current_password, "new_password": new_password},
            options=options,
        )
        tokens: TokenPair = self._client.parse(TokenPair, response)
        await self._client.set_tokens(tokens)
        return tokens
