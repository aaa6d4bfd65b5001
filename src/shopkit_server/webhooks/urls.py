"""Endpoint URLs: http(s) only, and (unless allowed) resolving to public addresses only.

Resolved with the event loop's ``getaddrinfo`` (a thread, never blocking the loop), when an
endpoint is registered and again before every delivery, so a name that later resolves to a
private address (DNS rebinding) is refused at delivery time too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from shopkit_server.webhooks.errors import WebhookUrlRefused

MAX_URL_LENGTH = 2000
RESOLVE_SECONDS = 5.0  # a resolver that does not answer by then: the URL is refused


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def syntax(url: str) -> tuple[str, int]:
    """The host and port of an acceptable URL; raises :class:`WebhookUrlRefused`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL_LENGTH:
        raise WebhookUrlRefused("The URL must be an absolute http(s) URL.")
    if parts.username or parts.password:
        raise WebhookUrlRefused("The URL must not carry credentials.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise WebhookUrlRefused("The URL's port is not a number.") from None
    return parts.hostname, port


async def check_url(url: str, *, allow_private: bool) -> None:
    host, port = syntax(url)
    if allow_private:
        return
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_SECONDS
        )
    except (OSError, UnicodeError, TimeoutError):
        raise WebhookUrlRefused(f"The host {host!r} does not resolve.") from None
    addresses = {str(info[4][0]) for info in infos}
    if not addresses or not all(_public(address) for address in addresses):
        raise WebhookUrlRefused(
            "The URL resolves to a private, loopback or reserved address "
            "(set SHOPKIT_WEBHOOKS_ALLOW_PRIVATE=true for local development)."
        )
