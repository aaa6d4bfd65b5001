"""``shopkit users list | promote | demote | deactivate | activate | resend-verification |
reset-password``."""

from __future__ import annotations

import json

from fastapi import FastAPI

from tests.cli.conftest import Admin, Cli, one_line_error
from tests.conftest import PASSWORD, MakeUser


async def test_list_and_search(cli: Cli, logged_in: Admin, make_user: MakeUser) -> None:
    ada = await make_user(email="ada@example.com", name="Ada")
    await make_user(email="bob@example.com", name="Bob")
    everyone = json.loads((await cli("users", "list", "--json")).stdout)
    assert {u["email"] for u in everyone} == {logged_in.email, "ada@example.com", "bob@example.com"}
    assert all("password" not in json.dumps(u) for u in everyone)
    found = json.loads((await cli("users", "list", "-q", "ada", "--json")).stdout)
    assert [u["id"] for u in found] == [ada.id]
    paged = await cli("users", "list", "--page-size", "1", "--json")
    assert len(json.loads(paged.stdout)) == 1 and "--page 2" in paged.stderr
    every = await cli("users", "list", "--page-size", "1", "--all-pages", "--json")
    assert len(json.loads(every.stdout)) == 3


async def test_promote_by_email_and_deactivate_by_id(
    cli: Cli, logged_in: Admin, make_user: MakeUser
) -> None:
    user = await make_user(email="Carol@Example.com")
    promoted = await cli("users", "promote", "CAROL@example.com", "--json")
    assert promoted.exit_code == 0, promoted.output
    assert json.loads(promoted.stdout)["role"] == "admin"
    demoted = await cli("users", "demote", user.id, "--json")
    assert json.loads(demoted.stdout)["role"] == "customer"

    off = await cli("users", "deactivate", user.id, "--json")
    assert off.exit_code == 0 and json.loads(off.stdout)["is_active"] is False
    # A deactivated account cannot log in; the server's reason is shown.
    login = await cli(
        "--profile", "carol", "login", "-e", user.email, "--password-stdin", input=PASSWORD + "\n"
    )
    assert login.exit_code == 1
    assert "account_disabled" in one_line_error(login)
    on = await cli("users", "activate", "carol@example.com", "--json")
    assert json.loads(on.stdout)["is_active"] is True


async def test_unknown_users(cli: Cli, logged_in: Admin) -> None:
    by_email = await cli("users", "promote", "nobody@example.com")
    assert "no user with the email nobody@example.com" in one_line_error(by_email)
    by_id = await cli("users", "promote", "0" * 24)
    assert "HTTP 404" in one_line_error(by_id)


async def test_admins_trigger_a_reset_or_a_verification_mail(
    cli: Cli, logged_in: Admin, make_user: MakeUser, app: FastAPI
) -> None:
    from shopkit_server.mail import Message

    sent: list[Message] = []

    class Capture:
        name = "capture"

        async def send(self, message: Message, *, sender: str) -> None:
            sent.append(message)

    app.state.ctx.mail.mailer = Capture()
    user = await make_user(email="dora@example.com")
    reset = await cli("users", "reset-password", "DORA@example.com")
    assert reset.exit_code == 0, reset.output
    assert "password-reset mail queued for dora@example.com" in reset.stderr + reset.stdout
    verify = await cli("users", "resend-verification", user.id)
    assert verify.exit_code == 0, verify.output
    await app.state.ctx.mail.join()
    assert [m.kind for m in sent if m.to == "dora@example.com"][-2:] == [
        "password_reset",
        "email_verification",
    ]
    missing = await cli("users", "reset-password", "nobody@example.com")
    assert missing.exit_code != 0 and "no user with the email" in one_line_error(missing)
