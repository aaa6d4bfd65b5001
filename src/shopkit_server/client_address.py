"""Who is on the other end: the peer's address, or the one a trusted proxy forwarded.

Behind the gateway every request comes from nginx; nginx appends the address it saw to
``X-Forwarded-For`` (deploy/nginx.conf). That header is believed only when the peer is one of
the configured proxies (``SHOPKIT_TRUSTED_PROXIES``, loopback by default): the list is read
from the right, skipping trusted proxies, and the first other address is the client's. Anyone
else's ``X-Forwarded-For`` is ignored, so a client cannot pick its own throttle bucket.

IPv6 clients are keyed by their /64 (one host usually holds a whole /64).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from starlette.types import Scope

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """``["127.0.0.1", "10.0.0.0/8", "::1"]`` as networks; raises ValueError on a bad one."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, proxies: Sequence[IPNetwork]
) -> bool:
    return any(address in network for network in proxies)


def _key(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def client_address(scope: Scope, proxies: Sequence[IPNetwork]) -> str:
    """The client's address (a throttle key) for one request."""
    peer_text = (scope.get("client") or (None, None))[0]
    peer = _ip(peer_text) if isinstance(peer_text, str) else None
    if peer is None:
        return UNKNOWN
    if not _trusted(peer, proxies):
        return _key(peer)
    forwarded = [
        value.decode("latin-1")
        for name, value in scope.get("headers", ())
        if name == b"x-forwarded-for"
    ]
    hops = [hop for hop in ",".join(forwarded).split(",") if hop.strip()]
    current = peer
    for hop in reversed(hops):
        address = _ip(hop)
        if address is None:
            break  # not an address: believe no further; the last good hop is the client
        current = address
        if not _trusted(address, proxies):
            break
    return _key(current)
