"""``shopkit login | whoami | logout`` and the credentials file."""

from __future__ import annotations

import asyncio
import json
import stat
import threading

import pytest
from fastapi import FastAPI

from shopkit_cli import config, session
from shopkit_server.security import Role
from tests.cli.conftest import BASE_URL, Admin, Cli, one_line_error
from tests.conftest import PASSWORD, MakeUser, api_client


async def test_login_saves_a_private_credentials_file_in_the_xdg_config_dir(
    cli: Cli, logged_in: Admin
) -> None:
    path = cli.credentials  # $XDG_CONFIG_HOME/shopkit/credentials.json
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    saved = json.loads(path.read_text())["profiles"]["default"]
    assert saved["base_url"] == BASE_URL
    assert saved["email"] == logged_in.email
    assert saved["role"] == "admin"
    assert saved["access_token"] and saved["refresh_token"]
    assert PASSWORD not in path.read_text()
    # No temporary file is left beside it.
    assert [p.name for p in path.parent.iterdir()] == ["credentials.json"]


async def test_rewriting_keeps_mode_0600_even_over_a_loose_file(cli: Cli, logged_in: Admin) -> None:
    cli.credentials.chmod(0o644)
    result = await cli(
        "--profile",
        "second",
        "login",
        "--email",
        logged_in.email,
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(cli.credentials.stat().st_mode) == 0o600
    assert set(json.loads(cli.credentials.read_text())["profiles"]) == {"default", "second"}


async def test_whoami_json_and_table(cli: Cli, logged_in: Admin) -> None:
    result = await cli("whoami", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["profile"] == "default"
    assert data["base_url"] == BASE_URL
    assert data["user"]["email"] == logged_in.email
    assert data["user"]["role"] == "admin"
    assert data["token_source"] == "profile 'default'"

    # The global --json works too; piped (not a terminal) the plain form is field<TAB>value.
    assert json.loads((await cli("--json", "whoami")).stdout)["user"]["email"] == logged_in.email
    plain = await cli("whoami")
    assert f"email\t{logged_in.email}" in plain.stdout.splitlines()
    assert BASE_URL in plain.stderr


async def test_password_is_prompted_without_echo(cli: Cli, make_user: MakeUser) -> None:
    user = await make_user(role=Role.ADMIN)
    result = await cli("login", input=f"{user.email}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Password" in result.stderr
    assert PASSWORD not in result.output  # the hidden prompt never echoes it


async def test_wrong_password_is_one_line_with_the_request_id(
    cli: Cli, make_user: MakeUser
) -> None:
    user = await make_user()
    result = await cli("login", "--email", user.email, "--password-stdin", input="wrong pw 123\n")
    assert result.exit_code == 1
    line = one_line_error(result)
    assert "HTTP 401 invalid_credentials" in line
    assert "request id " in line
    assert not cli.credentials.exists()


async def test_a_customer_may_log_in_but_is_warned(cli: Cli, make_user: MakeUser) -> None:
    user = await make_user()
    result = await cli("login", "-e", user.email, "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == 0
    assert "not an admin" in result.stderr
    refused = await cli("users", "list")
    assert refused.exit_code == 1
    assert "HTTP 403" in one_line_error(refused) and "admin" in refused.stderr


async def test_logout_revokes_the_session_and_forgets_it(
    cli: Cli, logged_in: Admin, app: FastAPI
) -> None:
    refresh = json.loads(cli.credentials.read_text())["profiles"]["default"]["refresh_token"]
    result = await cli("logout")
    assert result.exit_code == 0, result.output
    assert json.loads(cli.credentials.read_text())["profiles"] == {}
    assert "POST /api/auth/logout" in cli.writes()
    async with api_client(app) as anon:  # the server no longer honours the refresh token
        reply = await anon.post("/auth/refresh", json={"refresh_token": refresh})
    assert reply.status_code == 401
    after = await cli("whoami")
    assert after.exit_code == 1
    assert "not logged in" in one_line_error(after)
    again = await cli("logout")
    assert again.exit_code == 0 and "nothing to do" in again.stderr


async def test_rotated_tokens_are_written_back(
    cli: Cli, logged_in: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = config.load_profile("default", cli.credentials)
    assert saved is not None
    # An access token the server rejects: the SDK refreshes, replays, and the CLI saves both.
    saved.access_token = "not-a-valid-token"
    config.save_profile("default", saved, cli.credentials)
    result = await cli("whoami", "--json")
    assert result.exit_code == 0, result.output
    after = config.load_profile("default", cli.credentials)
    assert after is not None
    assert after.access_token not in (None, "not-a-valid-token")
    assert after.refresh_token != saved.refresh_token
    assert stat.S_IMODE(cli.credentials.stat().st_mode) == 0o600
    # And the new pair works without another refresh.
    before = len(cli.requests)
    assert (await cli("whoami")).exit_code == 0
    assert [r.url.path for r in cli.requests[before:]] == ["/api/auth/me"]


async def test_precedence_flag_over_env_over_profile(
    cli: Cli, logged_in: Admin, monkeypatch: pytest.MonkeyPatch, make_user: MakeUser
) -> None:
    # --base-url elsewhere: the profile's tokens are not sent to another shop.
    other = await cli("--base-url", "http://elsewhere.example/api", "whoami")
    assert other.exit_code == 1
    assert "logged in to http://test/api, not http://elsewhere.example/api" in one_line_error(other)
    assert all(r.url.host == "test" for r in cli.requests)

    # $SHOPKIT_ACCESS_TOKEN beats the saved login.
    customer = await make_user()
    monkeypatch.setenv("SHOPKIT_ACCESS_TOKEN", customer.access_token)
    result = await cli("whoami", "--json")
    data = json.loads(result.stdout)
    assert data["user"]["email"] == customer.email
    assert data["token_source"] == "$SHOPKIT_ACCESS_TOKEN"
    monkeypatch.delenv("SHOPKIT_ACCESS_TOKEN")

    # $SHOPKIT_BASE_URL beats the profile's URL; without either the profile's URL is used.
    monkeypatch.setenv("SHOPKIT_BASE_URL", "http://elsewhere.example/api")
    assert (await cli("whoami")).exit_code == 1
    monkeypatch.delenv("SHOPKIT_BASE_URL")
    result = await cli("whoami", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["base_url"] == BASE_URL


async def test_profiles_are_separate(cli: Cli, logged_in: Admin) -> None:
    result = await cli("--profile", "staging", "whoami")
    assert result.exit_code == 1
    assert "profile 'staging'" in one_line_error(result)


async def test_a_broken_credentials_file_is_one_clear_line(cli: Cli, logged_in: Admin) -> None:
    cli.credentials.write_text("{not json")
    result = await cli("whoami")
    assert result.exit_code == 1
    assert "not a shopkit credentials file" in one_line_error(result)


async def test_logout_with_an_expired_access_token_leaves_no_live_session(
    cli: Cli, logged_in: Admin, app: FastAPI
) -> None:
    saved = config.load_profile("default", cli.credentials)
    assert saved is not None and saved.refresh_token
    saved.access_token = "expired-or-garbage"
    config.save_profile("default", saved, cli.credentials)
    result = await cli("logout")
    assert result.exit_code == 0, result.output
    # The SDK refreshed (rotating the refresh token) before it could log out: both the old
    # and the rotated refresh tokens were revoked.
    revoked = {
        json.loads(r.content)["refresh_token"]
        for r in cli.requests
        if r.url.path == "/api/auth/logout"
    }
    assert len(revoked) == 2 and saved.refresh_token in revoked
    async with api_client(app) as anon:
        for token in revoked:
            reply = await anon.post("/auth/refresh", json={"refresh_token": token})
            assert reply.status_code == 401


async def test_two_processes_refreshing_one_profile_at_once_stay_logged_in(
    cli: Cli, logged_in: Admin
) -> None:
    saved = config.load_profile("default", cli.credentials)
    assert saved is not None
    saved.access_token = "not-a-valid-token"  # both sessions must refresh on their first call
    config.save_profile("default", saved, cli.credentials)
    both_loaded = threading.Barrier(2, timeout=10)

    async def one_session() -> str:
        conn = session.resolve(session.GlobalOptions())
        both_loaded.wait()  # each holds the same saved (stale) pair before either refreshes
        async with session.open_client(conn=conn) as client:
            return (await client.auth.me()).email

    def run_in_thread() -> str:  # a loop (and a lock file descriptor) of its own, as a process
        return asyncio.run(one_session())

    emails = await asyncio.gather(
        asyncio.to_thread(run_in_thread), asyncio.to_thread(run_in_thread)
    )
    assert emails == [logged_in.email] * 2  # neither was logged out as a "reuse"
    refreshes = [r for r in cli.requests if r.url.path == "/api/auth/refresh"]
    assert len(refreshes) == 1  # the second used the pair the first had saved
    assert (await cli("whoami")).exit_code == 0  # the token family is still alive
