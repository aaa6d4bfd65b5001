"""Decoded tokens are cached per codec until they expire; failures are never cached."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from shopkit_server import security
from shopkit_server.ids import new_id
from shopkit_server.security import InvalidToken, Role, TokenCodec, TokenType

SECRET = "token-cache-secret-" + "x" * 40


@pytest.fixture
def jwt_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = security.jwt.decode

    def counting(token: str, *args: object, **kwargs: object) -> object:
        calls.append(token)
        return original(token, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(security.jwt, "decode", counting)
    return calls


def test_a_token_is_verified_once_then_answered_from_the_cache(jwt_calls: list[str]) -> None:
    codec = TokenCodec(SECRET)
    token = codec.issue(new_id(), Role.CUSTOMER).access_token
    first = codec.decode(token, TokenType.ACCESS)
    again = codec.decode(token, TokenType.ACCESS)
    assert again == first and again.role is Role.CUSTOMER
    assert jwt_calls == [token]


def test_the_cache_keeps_the_type_check(jwt_calls: list[str]) -> None:
    codec = TokenCodec(SECRET)
    tokens = codec.issue(new_id(), Role.ADMIN)
    codec.decode(tokens.access_token, TokenType.ACCESS)
    with pytest.raises(InvalidToken):
        codec.decode(tokens.access_token, TokenType.REFRESH)
    with pytest.raises(InvalidToken):
        codec.decode(tokens.refresh_token, TokenType.ACCESS)


def test_a_cached_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    codec = TokenCodec(SECRET, access_minutes=5)
    token = codec.issue(new_id(), Role.CUSTOMER).access_token
    claims = codec.decode(token, TokenType.ACCESS)
    monkeypatch.setattr(security.time, "time", lambda: claims.exp.timestamp())
    with pytest.raises(InvalidToken):
        codec.decode(token, TokenType.ACCESS)


def test_failures_are_checked_every_time(jwt_calls: list[str]) -> None:
    codec = TokenCodec(SECRET)
    forged = TokenCodec("another-secret-" + "y" * 40).issue(new_id(), Role.ADMIN).access_token
    for _ in range(2):
        with pytest.raises(InvalidToken):
            codec.decode(forged, TokenType.ACCESS)
    assert jwt_calls == [forged, forged]


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(security, "VERIFIED_TOKENS_KEPT", 3)
    codec = TokenCodec(SECRET)
    tokens = [codec.issue(new_id(), Role.CUSTOMER).access_token for _ in range(5)]
    for token in tokens:
        codec.decode(token, TokenType.ACCESS)
    assert len(codec._verified) == 3
    assert (tokens[-1], TokenType.ACCESS) in codec._verified
    assert (tokens[0], TokenType.ACCESS) not in codec._verified


async def test_a_customer_read_with_a_token_decodes_it_once(
    app: FastAPI, make_user: object, jwt_calls: list[str]
) -> None:
    user = await make_user()  # type: ignore[operator]
    jwt_calls.clear()
    for _ in range(3):
        reply = await user.client.get("/auth/me")
        assert reply.status_code == 200
    assert jwt_calls.count(user.access_token) == 1
