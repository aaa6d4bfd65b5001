from __future__ import annotations

import pytest

from shopkit_server.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Webhooks to local receivers allowed; the dispatcher is driven by the tests."""
    return settings.model_copy(
        update={
            "webhooks_allow_private": True,
            "background_tasks": False,
            "webhooks_retry_base_seconds": 30.0,
            "webhooks_retry_max_seconds": 3600.0,
            "webhooks_max_attempts": 3,
        }
    )
