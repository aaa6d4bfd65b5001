"""The auth table of API.md, row by row, through the real ASGI app on every store backend."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from shopkit_server.security import Role
from tests.conftest import PASSWORD, TEST_SECRET, MakeUser, UserSession


def _assert_no_secrets(body: object) -> None:
    text = json.dumps(body)
    assert "password" not in text.replace('"password_changed"', "")
    assert "$2b$" not in text


async def register(
    client: httpx.AsyncClient, email: str = "ana@example.com", **extra: str
) -> httpx.Response:
    body = {"email": email, "password": PASSWORD, "name": "Ana"} | extra
    return await client.post("/auth/register", json=body)


async def test_register_returns_user_and_tokens(client: httpx.AsyncClient) -> None:
    reply = await register(client, "  Ana.Lopez@Example.COM ")
    assert reply.status_code == 201
    body = reply.json()
    assert body["user"]["email"] == "ana.lopez@example.com"
    assert body["user"]["role"] == "customer"
    assert body["user"]["is_active"] is True
    assert body["user"]["last_login"] is None
    assert datetime.fromisoformat(body["user"]["created_at"]).utcoffset() is not None
    assert body["tokens"]["token_type"] == "bearer"
    assert body["tokens"]["expires_in"] == 30 * 60
    _assert_no_secrets(body)
    me = await client.get(
        "/auth/me", headers={"Authorization": f"Bearer {body['tokens']['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["id"] == body["user"]["id"]


async def test_register_email_taken_case_insensitively(client: httpx.AsyncClient) -> None:
    assert (await register(client, "bob@example.com")).status_code == 201
    reply = await register(client, "BOB@Example.com")
    assert reply.status_code == 409
    assert reply.json() == {"detail": reply.json()["detail"], "code": "email_taken"}


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "password": PASSWORD, "name": "A"},
        {"email": "a@example.com", "password": "short", "name": "A"},
        {"email": "a@example.com", "password": "é" * 37, "name": "A"},  # 74 bytes > 72
        {"email": "a@example.com", "password": PASSWORD, "name": "   "},
        {"email": "a@example.com", "password": PASSWORD},
        {"email": "a@example.com", "password": PASSWORD, "name": "A", "role": "admin"},
    ],
    ids=["bad-email", "short-password", "73-plus-bytes", "blank-name", "no-name", "role-field"],
)
async def test_register_rejects_bad_input(client: httpx.AsyncClient, body: dict[str, str]) -> None:
    reply = await client.post("/auth/register", json=body)
    assert reply.status_code == 422
    assert isinstance(reply.json()["detail"], list)
    assert PASSWORD not in reply.text and "é" * 37 not in reply.text  # input never echoed


async def test_password_of_exactly_72_bytes_is_accepted(client: httpx.AsyncClient) -> None:
    password = "é" * 36  # 72 bytes
    reply = await client.post(
        "/auth/register", json={"email": "b72@example.com", "password": password, "name": "B"}
    )
    assert reply.status_code == 201
    login = await client.post(
        "/auth/login", json={"email": "b72@example.com", "password": password}
    )
    assert login.status_code == 200


async def test_eight_racing_registrations_give_exactly_one_account(
    client: httpx.AsyncClient,
) -> None:
    emails = ["race@example.com", "RACE@example.com", "Race@Example.com", " race@example.com"] * 2
    replies = await asyncio.gather(*(register(client, e) for e in emails))
    statuses = sorted(r.status_code for r in replies)
    assert statuses == [201] + [409] * 7


async def test_login_sets_last_login_and_same_error_for_unknown_email(
    client: httpx.AsyncClient, customer: UserSession
) -> None:
    reply = await client.post(
        "/auth/login", json={"email": customer.email.upper(), "password": customer.password}
    )
    assert reply.status_code == 200
    assert reply.json()["user"]["last_login"] is not None
    _assert_no_secrets(reply.json())
    wrong = await client.post(
        "/auth/login", json={"email": customer.email, "password": "nope-nope"}
    )
    unknown = await client.post("/auth/login", json={"email": "ghost@example.com", "password": "x"})
    for failed in (wrong, unknown):
        assert failed.status_code == 401
        assert failed.json()["code"] == "invalid_credentials"
        assert failed.headers["www-authenticate"] == "Bearer"
    assert wrong.json() == unknown.json()


async def test_disabled_account_cannot_log_in_or_refresh(
    client: httpx.AsyncClient, customer: UserSession, admin: UserSession
) -> None:
    reply = await admin.client.patch(f"/auth/users/{customer.id}", json={"is_active": False})
    assert reply.status_code == 200 and reply.json()["is_active"] is False
    login = await client.post(
        "/auth/login", json={"email": customer.email, "password": customer.password}
    )
    assert login.status_code == 403
    assert login.json()["code"] == "account_disabled"
    refresh = await client.post("/auth/refresh", json={"refresh_token": customer.refresh_token})
    assert refresh.status_code == 401


async def test_refresh_rotates_and_old_token_stops_working(
    client: httpx.AsyncClient, customer: UserSession
) -> None:
    first = await client.post("/auth/refresh", json={"refresh_token": customer.refresh_token})
    assert first.status_code == 200
    tokens = first.json()
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert tokens["refresh_token"] != customer.refresh_token
    chained = await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert chained.status_code == 200


async def test_reusing_a_spent_refresh_token_revokes_the_tokens_rotated_from_it(
    client: httpx.AsyncClient, customer: UserSession, make_user: MakeUser
) -> None:
    other_device = await client.post(
        "/auth/login", json={"email": customer.email, "password": PASSWORD}
    )
    rotated = await client.post("/auth/refresh", json={"refresh_token": customer.refresh_token})
    assert rotated.status_code == 200
    head = rotated.json()["refresh_token"]
    # A copy of the spent token comes back: reuse. The whole chain of that login is revoked.
    again = await client.post("/auth/refresh", json={"refresh_token": customer.refresh_token})
    assert again.status_code == 401
    assert again.json()["code"] == "invalid_token"
    stolen = await client.post("/auth/refresh", json={"refresh_token": head})
    assert stolen.status_code == 401
    # Another login's chain (another device) is not that family: it keeps working.
    elsewhere = other_device.json()["tokens"]["refresh_token"]
    other = await client.post("/auth/refresh", json={"refresh_token": elsewhere})
    assert other.status_code == 200


async def test_reuse_also_stops_the_familys_access_tokens_at_once(
    app: FastAPI, client: httpx.AsyncClient, customer: UserSession
) -> None:
    rotated = await client.post("/auth/refresh", json={"refresh_token": customer.refresh_token})
    assert rotated.status_code == 200
    newer = rotated.json()["access_token"]
    again = await client.post("/auth/refresh", json={"refresh_token": customer.refresh_token})
    assert again.status_code == 401
    # Both access tokens of that login (the first and the rotated one) stop now, not when
    # they expire; another login of the same account is untouched.
    for token in (customer.access_token, newer):
        reply = await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 401, reply.text
        assert reply.json()["code"] == "invalid_token"
    login = await client.post(
        "/auth/login", json={"email": customer.email, "password": customer.password}
    )
    fresh = login.json()["tokens"]["access_token"]
    me = await client.get("/auth/me", headers={"Authorization": f"Bearer {fresh}"})
    assert me.status_code == 200


async def test_concurrent_refreshes_with_one_token_succeed_at_most_once_and_revoke_the_family(
    app: FastAPI, client: httpx.AsyncClient, customer: UserSession, backend: str
) -> None:
    repo = app.state.ctx.store.refresh_tokens
    rotate = repo.rotate
    in_flight = peak = 0

    async def counted(*args: Any) -> Any:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            return await rotate(*args)
        finally:
            in_flight -= 1

    repo.rotate = counted
    try:
        replies = await asyncio.gather(
            *(
                client.post("/auth/refresh", json={"refresh_token": customer.refresh_token})
                for _ in range(5)
            )
        )
    finally:
        repo.rotate = rotate
    if backend != "mongo-standin":  # mongomock-motor never yields, so nothing interleaves there
        assert peak > 1  # the rotations really overlapped
    statuses = [r.status_code for r in replies]
    assert statuses.count(200) <= 1 and statuses.count(401) >= 4
    # The others were reuse: the family is revoked, so what the winner got is dead as well.
    for reply in replies:
        if reply.status_code == 200:
            winner = reply.json()["refresh_token"]
            late = await client.post("/auth/refresh", json={"refresh_token": winner})
            assert late.status_code == 401


async def test_refresh_refuses_access_token_and_garbage(
    client: httpx.AsyncClient, customer: UserSession
) -> None:
    for token in (customer.access_token, "garbage", ""):
        reply = await client.post("/auth/refresh", json={"refresh_token": token})
        assert reply.status_code in (401, 422)
        if token:
            assert reply.status_code == 401


async def test_refresh_token_is_not_an_access_token(
    client: httpx.AsyncClient, customer: UserSession
) -> None:
    reply = await client.get(
        "/auth/me", headers={"Authorization": f"Bearer {customer.refresh_token}"}
    )
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"] == "Bearer"


async def test_logout_revokes_that_refresh_token(
    client: httpx.AsyncClient, customer: UserSession
) -> None:
    reply = await customer.client.post(
        "/auth/logout", json={"refresh_token": customer.refresh_token}
    )
    assert reply.status_code == 204
    assert reply.content == b""
    refresh = await client.post("/auth/refresh", json={"refresh_token": customer.refresh_token})
    assert refresh.status_code == 401
    anonymous = await client.post("/auth/logout", json={"refresh_token": customer.refresh_token})
    assert anonymous.status_code == 401


async def test_logout_cannot_revoke_someone_elses_token(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice, mallory = await make_user(), await make_user()
    reply = await mallory.client.post("/auth/logout", json={"refresh_token": alice.refresh_token})
    assert reply.status_code == 204
    still = await client.post("/auth/refresh", json={"refresh_token": alice.refresh_token})
    assert still.status_code == 200


async def test_me_requires_a_token(client: httpx.AsyncClient) -> None:
    reply = await client.get("/auth/me")
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"] == "Bearer"
    assert reply.json()["code"] == "not_authenticated"


async def test_patch_me_updates_name_and_email(customer: UserSession, make_user: MakeUser) -> None:
    reply = await customer.client.patch(
        "/auth/me", json={"name": " New Name ", "email": "NEW@x.example.com"}
    )
    assert reply.status_code == 200
    assert reply.json()["name"] == "New Name"
    assert reply.json()["email"] == "new@x.example.com"
    other = await make_user()
    taken = await customer.client.patch("/auth/me", json={"email": other.email.upper()})
    assert taken.status_code == 409
    assert taken.json()["code"] == "email_taken"


@pytest.mark.parametrize(
    "body", [{"role": "admin"}, {"is_active": False}, {"password_hash": "x"}, {"name": ""}]
)
async def test_patch_me_refuses_other_fields(
    customer: UserSession, body: dict[str, object]
) -> None:
    reply = await customer.client.patch("/auth/me", json=body)
    assert reply.status_code == 422
    me = await customer.client.get("/auth/me")
    assert me.json()["role"] == "customer" and me.json()["is_active"] is True


async def test_change_password_revokes_earlier_refresh_tokens(
    client: httpx.AsyncClient, customer: UserSession
) -> None:
    second_session = await client.post(
        "/auth/login", json={"email": customer.email, "password": customer.password}
    )
    wrong = await customer.client.post(
        "/auth/change-password",
        json={"current_password": "wrong-one", "new_password": "brand new pass"},
    )
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "invalid_credentials"
    reply = await customer.client.post(
        "/auth/change-password",
        json={"current_password": customer.password, "new_password": "brand new pass"},
    )
    assert reply.status_code == 200
    fresh = reply.json()
    for old in (customer.refresh_token, second_session.json()["tokens"]["refresh_token"]):
        assert (await client.post("/auth/refresh", json={"refresh_token": old})).status_code == 401
    assert (
        await client.post("/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
    ).status_code == 200
    old_login = await client.post(
        "/auth/login", json={"email": customer.email, "password": customer.password}
    )
    assert old_login.status_code == 401
    new_login = await client.post(
        "/auth/login", json={"email": customer.email, "password": "brand new pass"}
    )
    assert new_login.status_code == 200


async def test_admin_lists_and_searches_users(admin: UserSession, make_user: MakeUser) -> None:
    await make_user(email="zed.searchable@example.com", name="Zed")
    await make_user(email="other@example.com", name="Other")
    reply = await admin.client.get("/auth/users", params={"q": "SEARCHABLE"})
    assert reply.status_code == 200
    page = reply.json()
    assert page["total"] == 1
    assert page["items"][0]["email"] == "zed.searchable@example.com"
    _assert_no_secrets(page)
    everyone = (await admin.client.get("/auth/users", params={"page_size": 2})).json()
    assert everyone["total"] == 3 and len(everyone["items"]) == 2 and everyone["has_next"] is True
    percent = await admin.client.get("/auth/users", params={"q": "%"})
    assert percent.json()["total"] == 0  # LIKE wildcards are matched literally
    bad = await admin.client.get("/auth/users", params={"page_size": 101})
    assert bad.status_code == 422


async def test_customers_cannot_use_admin_routes(customer: UserSession, admin: UserSession) -> None:
    assert (await customer.client.get("/auth/users")).status_code == 403
    reply = await customer.client.patch(f"/auth/users/{customer.id}", json={"role": "admin"})
    assert reply.status_code == 403
    me = await customer.client.get("/auth/me")
    assert me.json()["role"] == "customer"


async def test_admin_promotes_and_the_new_role_reaches_new_tokens(
    client: httpx.AsyncClient, customer: UserSession, admin: UserSession
) -> None:
    reply = await admin.client.patch(f"/auth/users/{customer.id}", json={"role": "admin"})
    assert reply.status_code == 200 and reply.json()["role"] == "admin"
    refreshed = await client.post("/auth/refresh", json={"refresh_token": customer.refresh_token})
    claims = jwt.decode(refreshed.json()["access_token"], TEST_SECRET, algorithms=["HS256"])
    assert claims["role"] == "admin"


async def test_admin_patch_user_errors(admin: UserSession) -> None:
    missing = await admin.client.patch(
        "/auth/users/0123456789abcdef01234567", json={"role": "admin"}
    )
    assert missing.status_code == 404
    malformed = await admin.client.patch("/auth/users/not-an-id", json={"role": "admin"})
    assert malformed.status_code == 404
    bad_role = await admin.client.patch(f"/auth/users/{admin.id}", json={"role": "owner"})
    assert bad_role.status_code == 422
    self_demote = await admin.client.patch(f"/auth/users/{admin.id}", json={"role": "customer"})
    assert self_demote.status_code == 409
    assert self_demote.json()["code"] == "cannot_change_self"


# --- forged tokens --------------------------------------------------------------------------


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(user: UserSession, **over: object) -> dict[str, object]:
    now = datetime.now(UTC)
    base: dict[str, object] = {
        "sub": user.id,
        "type": "access",
        "role": "admin",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "jti": "x" * 32,
    }
    return base | over


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_forged_tokens_are_refused(
    customer: UserSession, admin: UserSession, client: httpx.AsyncClient
) -> None:
    real_header, _payload, real_sig = customer.access_token.split(".")
    forged = {
        "alg-none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(customer))}.",
        "tampered-role": f"{real_header}.{_b64(_claims(customer))}.{real_sig}",
        "wrong-secret": jwt.encode(_claims(customer), "another-secret" * 3, algorithm="HS256"),
        "wrong-type": jwt.encode(_claims(customer, type="refresh"), TEST_SECRET, algorithm="HS256"),
        "service-type": jwt.encode(
            _claims(customer, type="service"), TEST_SECRET, algorithm="HS256"
        ),
        "expired": jwt.encode(
            _claims(customer, exp=int((datetime.now(UTC) - timedelta(seconds=5)).timestamp())),
            TEST_SECRET,
            algorithm="HS256",
        ),
        "hs512": jwt.encode(_claims(customer), TEST_SECRET, algorithm="HS512"),
        "no-jti": jwt.encode(
            {k: v for k, v in _claims(customer).items() if k != "jti"},
            TEST_SECRET,
            algorithm="HS256",
        ),
        "unknown-role": jwt.encode(_claims(customer, role="root"), TEST_SECRET, algorithm="HS256"),
    }
    for name, token in forged.items():
        reply = await client.get("/auth/users", headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 401, name
        assert reply.headers["www-authenticate"] == "Bearer", name
    # The control: a correctly signed token of a real admin is accepted, so the refusals above
    # are real; the same claims for a customer's account are not (admin powers are re-checked).
    good = jwt.encode(_claims(admin), TEST_SECRET, algorithm="HS256")
    reply = await client.get("/auth/users", headers={"Authorization": f"Bearer {good}"})
    assert reply.status_code == 200
    signed_for_customer = jwt.encode(_claims(customer), TEST_SECRET, algorithm="HS256")
    reply = await client.get(
        "/auth/users", headers={"Authorization": f"Bearer {signed_for_customer}"}
    )
    assert reply.status_code == 403


async def test_password_hash_never_in_any_response(
    client: httpx.AsyncClient, customer: UserSession, admin: UserSession
) -> None:
    replies = [
        await customer.client.get("/auth/me"),
        await customer.client.patch("/auth/me", json={"name": "X"}),
        await admin.client.get("/auth/users"),
        await admin.client.patch(f"/auth/users/{customer.id}", json={"role": Role.CUSTOMER.value}),
        await client.post(
            "/auth/login", json={"email": customer.email, "password": customer.password}
        ),
    ]
    for reply in replies:
        assert reply.status_code == 200
        assert "password" not in reply.text
        assert "$2b$" not in reply.text


async def test_a_demoted_or_disabled_admin_loses_admin_powers_at_once(
    make_user: MakeUser, admin: UserSession
) -> None:
    other = await make_user(role=Role.ADMIN, email="second-admin@example.com")
    assert (await other.client.get("/auth/users")).status_code == 200
    demoted = await admin.client.patch(f"/auth/users/{other.id}", json={"role": "customer"})
    assert demoted.status_code == 200
    # The demoted admin's access token still says "admin", but the account no longer is.
    assert (await other.client.get("/auth/users")).status_code == 403
    reply = await other.client.patch(f"/auth/users/{admin.id}", json={"is_active": False})
    assert reply.status_code == 403
    assert (await admin.client.get("/auth/me")).json()["is_active"] is True
    third = await make_user(role=Role.ADMIN, email="third-admin@example.com")
    assert (
        await admin.client.patch(f"/auth/users/{third.id}", json={"is_active": False})
    ).status_code == 200
    assert (await third.client.post("/categories", json={"name": "Sneaky"})).status_code == 403


async def test_a_demoted_admin_token_is_a_customer_token_everywhere(
    make_user: MakeUser, admin: UserSession, customer: UserSession
) -> None:
    other = await make_user(role=Role.ADMIN, email="fourth-admin@example.com")
    assert (await other.client.get("/orders", params={"all": "true"})).status_code == 200
    await admin.client.patch(f"/auth/users/{other.id}", json={"role": "customer"})
    assert (await other.client.get("/orders", params={"all": "true"})).status_code == 403
    await admin.client.patch(f"/auth/users/{other.id}", json={"is_active": False})
    reply = await other.client.get("/orders")
    assert reply.status_code == 403 and reply.json()["code"] == "account_disabled"
