"""Password reset over a real SMTP server, on every store."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI

from tests.conftest import UserSession
from tests.server.accounts.gate import Gate
from tests.server.accounts.smtp import Inbox, token_of

NEW_PASSWORD = "a brand new long password"


async def _reset_token(app: FastAPI, client: httpx.AsyncClient, inbox: Inbox, email: str) -> str:
    reply = await client.post("/auth/password-reset", json={"email": email})
    assert reply.status_code == 202
    await app.state.ctx.mail.join()
    (message,) = [m for m in await inbox.wait_for(email) if m["Subject"] == "Reset your password"]
    body = message.get_payload(decode=True).decode()
    token = token_of(message)
    assert f"http://localhost:8000/reset-password?token={token}" in body  # the link beside it
    return token


async def test_forget_receive_reset_and_every_old_session_dies(
    app: FastAPI, client: httpx.AsyncClient, customer: UserSession, inbox: Inbox
) -> None:
    token = await _reset_token(app, client, inbox, customer.email)
    reply = await client.post(
        "/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert reply.status_code == 204, reply.text
    # The old refresh token is dead, and so is the old access token wherever a change is made.
    refreshed = await client.post("/auth/refresh", json={"refresh_token": customer.refresh_token})
    assert refreshed.status_code == 401
    changed = await customer.client.patch("/auth/me", json={"name": "Thief"})
    assert changed.status_code == 401 and changed.json()["code"] == "invalid_token"
    # The old password no longer works; the new one does, and its session is good.
    old = await client.post(
        "/auth/login", json={"email": customer.email, "password": customer.password}
    )
    assert old.status_code == 401
    login = await client.post(
        "/auth/login", json={"email": customer.email, "password": NEW_PASSWORD}
    )
    assert login.status_code == 200
    # Receiving the mail proved the address.
    assert login.json()["user"]["email_verified"] is True
    fresh = login.json()["tokens"]["access_token"]
    me = await client.patch(
        "/auth/me", json={"name": "Owner"}, headers={"Authorization": f"Bearer {fresh}"}
    )
    assert me.status_code == 200
    # The token is single use.
    again = await client.post(
        "/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert again.status_code == 400 and again.json()["code"] == "invalid_reset_token"


async def test_a_reset_revokes_every_earlier_reset_token(
    app: FastAPI, client: httpx.AsyncClient, customer: UserSession, inbox: Inbox
) -> None:
    first = await _reset_token(app, client, inbox, customer.email)
    reply = await client.post("/auth/password-reset", json={"email": customer.email})
    assert reply.status_code == 202
    await app.state.ctx.mail.join()
    second = token_of((await inbox.wait_for(customer.email, 3))[-1])
    assert first != second
    used = await client.post(
        "/auth/password-reset/confirm", json={"token": second, "new_password": NEW_PASSWORD}
    )
    assert used.status_code == 204
    stale = await client.post(
        "/auth/password-reset/confirm", json={"token": first, "new_password": "yet another one"}
    )
    assert stale.status_code == 400 and stale.json()["code"] == "invalid_reset_token"


async def test_an_unknown_email_gets_the_same_answer_and_no_mail(
    app: FastAPI, client: httpx.AsyncClient, customer: UserSession, inbox: Inbox
) -> None:
    known = await client.post("/auth/password-reset", json={"email": customer.email})
    unknown = await client.post("/auth/password-reset", json={"email": "nobody@example.com"})
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert known.status_code == 202
    await app.state.ctx.mail.join()
    assert inbox.to("nobody@example.com") == []
    assert any(m["Subject"] == "Reset your password" for m in inbox.to(customer.email))


async def test_two_confirms_with_one_token_succeed_exactly_once(
    app: FastAPI, client: httpx.AsyncClient, customer: UserSession, inbox: Inbox
) -> None:
    token = await _reset_token(app, client, inbox, customer.email)
    with Gate(app.state.ctx.store.account_tokens, "consume", racers=2) as gate:
        replies = await asyncio.gather(
            client.post(
                "/auth/password-reset/confirm", json={"token": token, "new_password": "first one!"}
            ),
            client.post(
                "/auth/password-reset/confirm", json={"token": token, "new_password": "second one"}
            ),
        )
    assert gate.peak == 2  # both reached the store before either spent the token
    statuses = sorted(r.status_code for r in replies)
    assert statuses == [204, 400]
    winner = "first one!" if replies[0].status_code == 204 else "second one"
    login = await client.post("/auth/login", json={"email": customer.email, "password": winner})
    assert login.status_code == 200


async def test_garbage_tokens_are_refused_and_throttled(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    reply = await client.post(
        "/auth/password-reset/confirm", json={"token": "nope", "new_password": NEW_PASSWORD}
    )
    assert reply.status_code == 400 and reply.json()["code"] == "invalid_reset_token"
    # Repeated misses from one address back off like failed logins.
    statuses = []
    for _ in range(8):
        r = await client.post(
            "/auth/password-reset/confirm", json={"token": "nope", "new_password": NEW_PASSWORD}
        )
        statuses.append(r.status_code)
    assert 429 in statuses
