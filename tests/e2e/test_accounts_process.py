"""Accounts end to end: a real ``shopkit serve`` process mailing a real SMTP server (aiosmtpd).

Forget the password, receive the mail, reset, log in with the new password while the old
refresh token is dead; browse and fill a cart as a guest, register with the cart token, find
the items in the account's cart and check out to a saved address. Through the sync SDK.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

import shopkit
from shopkit import ShopClient
from tests.e2e.procs import SHOPKIT, free_port, start, stop, wait_healthy
from tests.server.accounts.smtp import Inbox, smtp_server, token_of

ADMIN = ("boss@example.com", "admin password 1")
ADDRESS = {
    "full_name": "Ayesha Khan",
    "address_line1": "12 Mall Road",
    "city": "Lahore",
    "postal_code": "54000",
    "country": "PK",
    "phone": "+92 300 1234567",
}


def _mail(inbox: Inbox, to: str, subject: str, count: int = 1) -> str:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = [m for m in inbox.to(to) if m["Subject"] == subject]
        if len(found) >= count:
            return token_of(found[-1])
        time.sleep(0.05)
    raise TimeoutError(f"no {subject!r} mail to {to}")


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    yield from smtp_server()


def test_accounts_through_a_real_server_and_a_real_smtp_server(
    tmp_path: Path, inbox: Inbox
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPKIT_")} | {
        "SHOPKIT_BCRYPT_ROUNDS": "4",
        "SHOPKIT_SMTP_URL": inbox.url,
        "SHOPKIT_MAIL_FROM": "shop <shop@example.com>",
        "SHOPKIT_PUBLIC_URL": "https://shop.example.com",
    }
    created = subprocess.run(
        [*SHOPKIT, "users", "create-admin", "--email", ADMIN[0], "--password", ADMIN[1]],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    port = free_port()
    log = tmp_path / "serve.log"
    proc = start([*SHOPKIT, "serve", "--port", str(port)], env=env, cwd=tmp_path, log=log)
    try:
        base = f"http://127.0.0.1:{port}/api"
        wait_healthy(f"http://127.0.0.1:{port}/health", proc)
        with ShopClient(base_url=base) as admin:
            admin.auth.login(email=ADMIN[0], password=ADMIN[1])
            admin.categories.create(name="Kitchen")
            mug = admin.products.create(
                name="Mug", description="A mug", price=Decimal("9.50"), category="Kitchen", stock=5
            )

        # A guest browses and fills a cart, then registers with it.
        with ShopClient(base_url=base) as guest:
            assert [p.name for p in guest.products.list().items] == ["Mug"]
            guest.cart.add_item(mug.id, quantity=2)
            assert guest.cart_token is not None
            assert guest.cart.get().total_items == 2
            result = guest.auth.register(
                email="ada@example.com", password="first password", name="Ada"
            )
            assert result.cart_merge is not None and result.cart_merge.outcome == "merged"
            assert [(i.product_id, i.quantity) for i in guest.cart.get().items] == [(mug.id, 2)]
            # The registration mailed a verification token.
            verified = guest.auth.verify_email(
                token=_mail(inbox, "ada@example.com", "Confirm your email address")
            )
            assert verified.email_verified is True
            saved = guest.addresses.create(ADDRESS)
            order = guest.orders.create(address_id=saved.id)
            assert order.shipping_address.city == "Lahore" and order.total > 0
            old_refresh = guest.refresh_token
            assert old_refresh is not None

        # She forgets the password, receives the mail and resets it.
        with ShopClient(base_url=base) as anon:
            anon.auth.request_password_reset(email="ada@example.com")
            anon.auth.request_password_reset(email="nobody@example.com")  # same answer
            token = _mail(inbox, "ada@example.com", "Reset your password")
            anon.auth.confirm_password_reset(token=token, new_password="second password")
            with pytest.raises(shopkit.AuthenticationError):
                anon.auth.refresh(refresh_token=old_refresh)  # the old login is dead
            with pytest.raises(shopkit.AuthenticationError):
                anon.auth.login(email="ada@example.com", password="first password")
            anon.auth.login(email="ada@example.com", password="second password")
            assert [o.id for o in anon.orders.list().items] == [order.id]
        reset_mail = [
            m for m in inbox.to("ada@example.com") if m["Subject"] == "Reset your password"
        ]
        body = reset_mail[0].get_payload(decode=True).decode()
        assert f"https://shop.example.com/reset-password?token={token}" in body
        assert reset_mail[0]["From"] == "shop <shop@example.com>"
        assert inbox.to("nobody@example.com") == []
    finally:
        assert stop(proc) == 0
    # Tokens never reach the log at info level with an SMTP server configured.
    assert token not in log.read_text()
