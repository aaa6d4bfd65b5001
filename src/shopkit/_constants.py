"""Defaults the client starts from; every one can be overridden per client or per call."""

from __future__ import annotations

import httpx

DEFAULT_BASE_URL = "http://localhost:8000/api"
# A slow checkout is still a live one; a server that will not even accept the connection is not.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEFAULT_MAX_RETRIES = 2

# Backoff: 0.5 s, 1 s, 2 s ... capped at 8 s, each shortened by up to 25 % of jitter so that
# clients failing together do not come back together.
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
# A Retry-After longer than this is not waited out: the error goes to the caller (with its
# ``retry_after``), who knows better than a library whether to wait a minute or more.
MAX_RETRY_AFTER = 60.0

# Statuses that say "this attempt did not happen, try again" (RFC 9110 15.5.20 / 15.6.3-5).
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# Methods a repeat cannot make worse (RFC 9110 9.2.2).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
REQUEST_ID_HEADER = "X-Request-ID"

ENV_BASE_URL = "SHOPKIT_BASE_URL"
ENV_ACCESS_TOKEN = "SHOPKIT_ACCESS_TOKEN"  # noqa: S105 (a variable name)
