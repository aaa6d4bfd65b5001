"""One token refresh at a time across ``shopkit`` processes sharing a saved profile."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import urlsplit

import httpx

from shopkit_cli import config
from shopkit_cli.output import warn
from shopkit_cli.session import normalize_url


class SharedRefresh(httpx.AsyncBaseTransport):
    """Refreshes a saved profile's tokens one ``shopkit`` process at a time.

    Two processes on one profile hold the same refresh token; refreshing it twice is reuse,
    which revokes the whole token family (both processes are logged out). So ``POST
    /auth/refresh`` runs under a file lock beside the credentials file, with the profile read
    again once the lock is held: when another process has rotated the token meanwhile, its saved
    pair is the answer (no request is sent); otherwise the new pair is saved before the lock is
    let go. Every other request goes straight through ``inner``.
    """

    def __init__(self, inner: httpx.AsyncClient, profile_name: str, base_url: str) -> None:
        self._inner = inner
        self._profile_name = profile_name
        self._base_url = base_url
        self._refresh_path = urlsplit(f"{base_url}/auth/refresh").path

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or request.url.path != self._refresh_path:
            return await self._inner.send(request)
        async with config.profile_lock():
            saved = self._saved()
            sent = _refresh_token_in(request)
            if saved is not None and saved.refresh_token != sent and saved.access_token:
                body = {
                    "access_token": saved.access_token,
                    "refresh_token": saved.refresh_token,
                    "token_type": "bearer",
                    "expires_in": _seconds_left(saved.access_token),
                }
                return httpx.Response(200, json=body, request=request)
            response = await self._inner.send(request)
            if response.status_code == 200 and saved is not None:
                pair = response.json()
                saved.access_token = str(pair.get("access_token") or "") or None
                saved.refresh_token = str(pair.get("refresh_token") or "") or None
                try:
                    config.save_profile(self._profile_name, saved)
                except config.ConfigError as exc:
                    warn(f"could not save the refreshed tokens: {exc}")
            return response

    async def aclose(self) -> None:
        """The inner client is closed by whoever opened it."""

    def _saved(self) -> config.Profile | None:
        try:
            saved = config.load_profile(self._profile_name)
        except config.ConfigError:
            return None
        if saved is None or normalize_url(saved.base_url) != self._base_url:
            return None  # logged out (or re-pointed) meanwhile: do not resurrect the profile
        return saved


def _refresh_token_in(request: httpx.Request) -> str | None:
    try:
        body = json.loads(request.content)
    except ValueError:
        return None
    token = body.get("refresh_token") if isinstance(body, dict) else None
    return token if isinstance(token, str) else None


def _seconds_left(access_token: str) -> int:
    """What is left of a saved access token's life, from its (unverified) ``exp`` claim."""
    try:
        payload = access_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return max(0, int(claims["exp"] - time.time()))
    except (IndexError, ValueError, KeyError, TypeError):
        return 0
