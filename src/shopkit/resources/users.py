"""``client.users``: user administration (admins only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Unpack

from shopkit._pagination import AsyncPage, walk_pages
from shopkit._types import NOT_GIVEN, NotGiven, RequestOptions, query, strip_not_given
from shopkit.resources._resource import AsyncAPIResource, segment
from shopkit.types.auth import Role, User


class AsyncUsers(AsyncAPIResource):
    async def list(
        self,
        *,
        q: str | None = None,
        page: int = 1,
        page_size: int = 20,
        **options: Unpack[RequestOptions],
    ) -> AsyncPage[User]:
        """One page of users; ``q`` matches email or name."""
        params = query({"q": q, "page": page, "page_size": page_size})
        response = await self._client.request("GET", "/auth/users", params=params, options=options)
        result: AsyncPage[User] = self._client.parse(AsyncPage[User], response)
        result._fetch = lambda n: self.list(q=q, page=int(n), page_size=page_size, **options)
        return result

    def iterate(
        self, *, q: str | None = None, page_size: int = 100, **options: Unpack[RequestOptions]
    ) -> AsyncIterator[User]:
        """Every matching user, fetched a page at a time as the loop needs them."""
        return walk_pages(
            lambda page_no: self.list(q=q, page=int(page_no), page_size=page_size, **options)
        )

    async def update(
        self,
        user_id: str,
        *,
        role: Role | NotGiven = NOT_GIVEN,
        is_active: bool | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> User:
        """Promote or demote a user, or (de)activate the account."""
        body = strip_not_given({"role": role, "is_active": is_active})
        response = await self._client.request(
            "PATCH", f"/auth/users/{segment(user_id)}", json=body, options=options
        )
        user: User = self._client.parse(User, response)
        return user

    async def send_password_reset(self, user_id: str, **options: Unpack[RequestOptions]) -> None:
        """Mail a password-reset token to the user."""
        await self._client.request(
            "POST", f"/auth/users/{segment(user_id)}/password-reset", options=options
        )

    async def send_verification(self, user_id: str, **options: Unpack[RequestOptions]) -> None:
        """Mail a new email-verification token to the user."""
        await self._client.request(
            "POST", f"/auth/users/{segment(user_id)}/verification", options=options
        )
