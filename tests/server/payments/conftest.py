from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from shopkit_server.settings import Settings
from tests.server.payments.fake_stripe import API_BASE, SECRET_KEY, WEBHOOK_SECRET, FakeStripe


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shop with Stripe configured; the sweeper and dispatcher are driven by the tests."""
    return settings.model_copy(
        update={
            "stripe_secret_key": SECRET_KEY,
            "stripe_webhook_secret": WEBHOOK_SECRET,
            "stripe_api_base": API_BASE,
            "background_tasks": False,
            "webhooks_allow_private": True,
        }
    )


@pytest.fixture
def stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe()
    # Only what leaves through httpx's network transports is answered here (the app under test
    # is called through ASGITransport); anything else unmocked is an error.
    with respx.mock(assert_all_called=False) as router:
        fake.install(router)
        yield fake
