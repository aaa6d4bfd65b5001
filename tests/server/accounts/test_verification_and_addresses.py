"""Email verification (over a real SMTP server) and the address book, on every store."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI

from tests.conftest import MakeUser, UserSession
from tests.server.accounts.gate import Gate
from tests.server.accounts.smtp import Inbox, token_of

ADDRESS = {
    "full_name": "Ayesha Khan",
    "address_line1": "12 Mall Road",
    "city": "Lahore",
    "postal_code": "54000",
    "country": "pk",
    "phone": "+92 300 1234567",
}


async def _verification(app: FastAPI, inbox: Inbox, email: str, count: int = 1) -> str:
    await app.state.ctx.mail.join()
    mails = [m for m in await inbox.wait_for(email, count) if "Confirm" in m["Subject"]]
    return token_of(mails[-1])


async def test_registration_mails_a_verification_token_that_verifies_once(
    app: FastAPI, client: httpx.AsyncClient, customer: UserSession, inbox: Inbox
) -> None:
    me = await customer.client.get("/auth/me")
    assert me.json()["email_verified"] is False
    token = await _verification(app, inbox, customer.email)
    reply = await client.post("/auth/verify-email", json={"token": token})
    assert reply.status_code == 200 and reply.json()["email_verified"] is True
    again = await client.post("/auth/verify-email", json={"token": token})
    assert again.status_code == 400 and again.json()["code"] == "invalid_verification_token"
    resend = await customer.client.post("/auth/verify-email/resend")
    assert resend.status_code == 409 and resend.json()["code"] == "email_already_verified"


async def test_changing_the_email_unverifies_it_and_old_tokens_prove_nothing(
    app: FastAPI, client: httpx.AsyncClient, customer: UserSession, inbox: Inbox
) -> None:
    old_token = await _verification(app, inbox, customer.email)
    changed = await customer.client.patch("/auth/me", json={"email": "moved@example.com"})
    assert changed.status_code == 200 and changed.json()["email_verified"] is False
    stale = await client.post("/auth/verify-email", json={"token": old_token})
    assert stale.status_code == 400
    fresh = await _verification(app, inbox, "moved@example.com")
    reply = await client.post("/auth/verify-email", json={"token": fresh})
    assert reply.status_code == 200 and reply.json()["email"] == "moved@example.com"


async def test_resend_is_throttled_per_account(
    app: FastAPI, customer: UserSession, inbox: Inbox
) -> None:
    statuses = [
        (await customer.client.post("/auth/verify-email/resend")).status_code for _ in range(7)
    ]
    assert statuses[0] == 202 and statuses[-1] == 429


async def test_two_verifications_with_one_token_succeed_exactly_once(
    app: FastAPI, client: httpx.AsyncClient, customer: UserSession, inbox: Inbox
) -> None:
    token = await _verification(app, inbox, customer.email)
    with Gate(app.state.ctx.store.account_tokens, "consume", racers=2) as gate:
        replies = await asyncio.gather(
            *(client.post("/auth/verify-email", json={"token": token}) for _ in range(2))
        )
    assert gate.peak == 2
    assert sorted(r.status_code for r in replies) == [200, 400]


async def test_admins_can_mail_a_reset_or_a_verification(
    app: FastAPI, admin: UserSession, customer: UserSession, inbox: Inbox
) -> None:
    reset = await admin.client.post(f"/auth/users/{customer.id}/password-reset")
    verify = await admin.client.post(f"/auth/users/{customer.id}/verification")
    assert (reset.status_code, verify.status_code) == (202, 202)
    await app.state.ctx.mail.join()
    subjects = {m["Subject"] for m in await inbox.wait_for(customer.email, 3)}
    assert subjects == {"Reset your password", "Confirm your email address"}
    refused = await customer.client.post(f"/auth/users/{customer.id}/password-reset")
    assert refused.status_code == 403
    missing = await admin.client.post("/auth/users/000000000000000000000000/verification")
    assert missing.status_code == 404 and missing.json()["code"] == "user_not_found"


async def test_the_address_book(customer: UserSession, make_user: MakeUser) -> None:
    book = customer.client
    first = await book.post("/auth/me/addresses", json=ADDRESS)
    assert first.status_code == 201, first.text
    assert first.json()["is_default"] is True and first.json()["country"] == "PK"
    second = await book.post("/auth/me/addresses", json={**ADDRESS, "city": "Karachi"})
    assert second.json()["is_default"] is False
    moved = await book.patch(
        f"/auth/me/addresses/{second.json()['id']}", json={"is_default": True, "state": "Sindh"}
    )
    assert moved.status_code == 200 and moved.json()["state"] == "Sindh"
    listed = (await book.get("/auth/me/addresses")).json()["items"]
    assert [(a["city"], a["is_default"]) for a in listed] == [("Lahore", False), ("Karachi", True)]
    bad = await book.patch(f"/auth/me/addresses/{first.json()['id']}", json={"country": "ZZ"})
    assert bad.status_code == 422
    # Another user's address is not found, for every verb.
    other = await make_user()
    path = f"/auth/me/addresses/{first.json()['id']}"
    for reply in (
        await other.client.get(path),
        await other.client.patch(path, json={"city": "X"}),
        await other.client.delete(path),
    ):
        assert reply.status_code == 404 and reply.json()["code"] == "address_not_found"
    assert (await book.delete(path)).status_code == 204
    assert (await book.get(path)).status_code == 404


async def test_at_most_twenty_addresses_even_when_added_at_once(customer: UserSession) -> None:
    replies = await asyncio.gather(
        *(
            customer.client.post("/auth/me/addresses", json={**ADDRESS, "city": f"C{i}"})
            for i in range(24)
        )
    )
    statuses = [r.status_code for r in replies]
    assert statuses.count(201) == 20 and statuses.count(409) == 4
    assert {r.json()["code"] for r in replies if r.status_code == 409} == {"address_limit"}
    listed = (await customer.client.get("/auth/me/addresses")).json()["items"]
    assert len(listed) == 20 and sum(a["is_default"] for a in listed) == 1
