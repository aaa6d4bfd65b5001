"""Apps whose mail goes to a real SMTP server on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from shopkit_server.app import create_app
from shopkit_server.settings import Settings
from shopkit_server.store import Store
from tests.server.accounts.smtp import Inbox, smtp_server


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    yield from smtp_server()


@pytest.fixture
async def app(settings: Settings, store: Store, inbox: Inbox) -> AsyncIterator[FastAPI]:
    mailing = settings.model_copy(update={"smtp_url": inbox.url})
    application = create_app(settings=mailing, store=store)
    async with LifespanManager(application):
        yield application
