"""JSON bodies with lone surrogates are refused at the edge; real emoji pass."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import UserSession


async def _post(client: httpx.AsyncClient, path: str, raw: str) -> httpx.Response:
    return await client.post(path, content=raw, headers={"content-type": "application/json"})


async def test_lone_surrogates_are_422_and_nothing_is_stored(
    client: httpx.AsyncClient, admin: UserSession
) -> None:
    assert (await admin.client.post("/categories", json={"name": "Audio"})).status_code == 201
    bad = [
        ("/products", '{"name":"Lamp","price":1,"category":"Audio","tags":["\\ud800"]}'),
        ("/products/bulk", '[{"name":"\\udc00","price":1,"category":"Audio"}]'),
        ("/categories", '{"name":"x\\ud83d"}'),
        ("/auth/register", '{"email":"s@example.com","password":"long enough","name":"\\ud800"}'),
    ]
    for path, raw in bad:
        reply = await _post(admin.client, path, raw)
        assert reply.status_code == 422, (path, reply.text)
        assert reply.json()["detail"][0]["type"] == "json_invalid"
    listing = await client.get("/products")
    assert listing.status_code == 200 and listing.json()["total"] == 0
    login = await client.post(
        "/auth/login", json={"email": "s@example.com", "password": "long enough"}
    )
    assert login.status_code == 401


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_surrogate_pairs_are_fine(client: httpx.AsyncClient, admin: UserSession) -> None:
    await admin.client.post("/categories", json={"name": "Audio"})
    reply = await _post(
        admin.client, "/products", '{"name":"Party \\ud83c\\udf89","price":1,"category":"Audio"}'
    )
    assert reply.status_code == 201
    assert reply.json()["name"] == "Party 🎉"
    assert (await client.get("/products")).json()["items"][0]["name"] == "Party 🎉"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_surrogates_without_an_escape_are_422(
    client: httpx.AsyncClient, admin: UserSession
) -> None:
    # json.loads decodes bytes with "surrogatepass": a surrogate can also arrive as the UTF-8
    # bytes ED A0 80 or inside a UTF-16 body, with no "\u" in the text at all.
    assert (await admin.client.post("/categories", json={"name": "Audio"})).status_code == 201
    utf8 = b'[{"name":"\xed\xa0\x80","price":1,"category":"Audio"}]'
    utf16 = '[{"name":"\ud800","price":1,"category":"Audio"}]'.encode("utf-16-le", "surrogatepass")
    for raw in (utf8, utf16):
        reply = await admin.client.post(
            "/products/bulk", content=raw, headers={"content-type": "application/json"}
        )
        assert reply.status_code == 422, reply.text
        assert reply.json()["detail"][0]["type"] == "json_invalid"
    fine = '[{"name":"한 lamp","price":1,"category":"Audio"}]'.encode()  # ED 95 9C: not one
    reply = await admin.client.post(
        "/products/bulk", content=fine, headers={"content-type": "application/json"}
    )
    assert reply.status_code == 200 and reply.json()["created"] == 1
    assert (await client.get("/products")).json()["total"] == 1
