"""``SHOPKIT_LOG=info|debug``: the SDK's requests on stderr (like ``OPENAI_LOG``).

``info``: one line per answer (method, url, status, request id) and per retry; ``debug`` adds
the headers sent, with credentials replaced. Bodies are never logged (they carry passwords and
tokens). Without the variable the ``shopkit`` logger is left to your own logging setup.
"""

from __future__ import annotations

import logging
import os

import httpx

ENV_LOG = "SHOPKIT_LOG"
_SECRET_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "proxy-authorization"})
_FORMAT = "[%(asctime)s %(name)s %(levelname)s] %(message)s"


def setup_logging() -> None:
    level = {"debug": logging.DEBUG, "info": logging.INFO}.get(
        os.environ.get(ENV_LOG, "").strip().lower()
    )
    if level is None:
        return
    logger = logging.getLogger("shopkit")
    if not any(getattr(h, "_shopkit", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler._shopkit = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(level)


def redacted_headers(request: httpx.Request) -> dict[str, str]:
    return {
        name: "<redacted>" if name.lower() in _SECRET_HEADERS else value
        for name, value in request.headers.items()
    }
