"""What `gh` users expect: profiles, raw API calls, completion, examples in the help, plain
setting errors, and the documented exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from shopkit_cli import output
from tests.cli.conftest import Admin, Cli, one_line_error
from tests.conftest import PASSWORD, MakeUser
from tests.e2e.procs import SHOPKIT

# -- profiles -------------------------------------------------------------------------------


async def test_profiles_list_and_use(cli: Cli, logged_in: Admin, make_user: MakeUser) -> None:
    other = await make_user(email="ops@example.com")
    login = await cli(
        "--profile", "ops", "login", "-e", other.email, "--password-stdin", input=PASSWORD + "\n"
    )
    assert login.exit_code == 0, login.output

    listed = json.loads((await cli("profiles", "list", "--json")).stdout)
    assert [(p["name"], p["email"], p["current"], p["logged_in"]) for p in listed] == [
        ("default", logged_in.email, True, True),
        ("ops", "ops@example.com", False, True),
    ]
    assert "access_token" not in json.dumps(listed) and "ey" not in json.dumps(listed)
    piped = await cli("profiles", "list")
    assert piped.stdout.splitlines()[1].split("\t")[:3] == ["false", "ops", "http://test/api"]

    used = await cli("profiles", "use", "ops")
    assert used.exit_code == 0 and "now using profile 'ops'" in used.stderr
    me = json.loads((await cli("whoami", "--json")).stdout)
    assert (me["profile"], me["user"]["email"]) == ("ops", "ops@example.com")
    # --profile still wins for one command.
    me = json.loads((await cli("--profile", "default", "whoami", "--json")).stdout)
    assert me["user"]["email"] == logged_in.email
    assert [
        p["name"]
        for p in json.loads((await cli("profiles", "list", "--json")).stdout)
        if p["current"]
    ] == ["ops"]

    # Logging the current profile out forgets the choice too: back to 'default'.
    assert (await cli("logout")).exit_code == 0
    me = json.loads((await cli("whoami", "--json")).stdout)
    assert me["profile"] == "default"


async def test_using_an_unknown_profile_is_one_line(cli: Cli, logged_in: Admin) -> None:
    result = await cli("profiles", "use", "nope")
    assert result.exit_code == 1
    assert "no saved profile named 'nope'" in one_line_error(result)
    assert (await cli("whoami")).exit_code == 0  # nothing changed


async def test_no_profiles_yet(cli: Cli) -> None:
    result = await cli("profiles", "list")
    assert result.exit_code == 0 and result.stdout == ""
    assert "no saved profiles" in result.stderr


# -- api ------------------------------------------------------------------------------------


async def test_api_get_and_patch_with_the_saved_credentials(cli: Cli, logged_in: Admin) -> None:
    me = await cli("api", "GET", "/auth/me")
    assert me.exit_code == 0, me.output
    assert json.loads(me.stdout)["email"] == logged_in.email

    assert (await cli("categories", "create", "Audio")).exit_code == 0
    created = await cli(
        "api",
        "POST",
        "products",
        "--data",
        '{"name": "Cable", "price": 209.98, "category": "Audio", "sku": "C-1"}',
    )
    assert created.exit_code == 0, created.output
    assert '"price": 209.98' in created.stdout  # the server's digits, never a float's
    product = json.loads(created.stdout, parse_float=Decimal)
    assert product["price"] == Decimal("209.98")

    patched = await cli(
        "api",
        "PATCH",
        f"/products/{product['id']}",
        "-d",
        '{"stock": 12}',
        "-H",
        "X-Request-ID: from-the-cli",
    )
    assert patched.exit_code == 0 and json.loads(patched.stdout)["stock"] == 12
    assert cli.requests[-1].headers["x-request-id"] == "from-the-cli"
    page = json.loads((await cli("api", "GET", "/products?sku=C-1&page_size=1")).stdout)
    assert page["page_size"] == 1


async def test_api_reads_the_body_from_a_file_or_stdin(
    cli: Cli, logged_in: Admin, tmp_path: Path
) -> None:
    body = tmp_path / "cat.json"
    body.write_text('{"name": "Books"}')
    assert (await cli("api", "POST", "/categories", "--data", f"@{body}")).exit_code == 0
    piped = await cli("api", "POST", "/categories", "--data", "-", input='{"name": "Toys"}')
    assert piped.exit_code == 0, piped.output
    names = {c["name"] for c in json.loads((await cli("api", "GET", "/categories")).stdout)}
    assert names == {"Books", "Toys"}


async def test_api_errors(cli: Cli, logged_in: Admin) -> None:
    missing = await cli("api", "GET", "/products/" + "0" * 24)
    assert missing.exit_code == 1
    assert "HTTP 404" in one_line_error(missing) and "request id" in missing.stderr
    for args in (
        ["api", "FETCH", "/x"],
        ["api", "POST", "/categories", "--data", "{nope"],
        ["api", "GET", "/x", "-H", "no colon"],
        ["api", "GET", "http://evil.example/api/auth/me"],
    ):
        result = await cli(*args)
        assert result.exit_code == 2, args
        one_line_error(result)
    assert cli.writes()[-1] == "POST /api/auth/login"  # none of those sent anything


async def test_api_anonymous_call_to_a_protected_route(cli: Cli, logged_in: Admin) -> None:
    result = await cli("api", "GET", "/auth/me", "--no-auth")
    assert result.exit_code == 1
    assert "HTTP 401" in one_line_error(result)
    assert "authorization" not in cli.requests[-1].headers


# -- exit codes -----------------------------------------------------------------------------


async def test_stdin_ending_at_a_confirmation_is_exit_1(
    cli: Cli, logged_in: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await cli("categories", "create", "Audio")).exit_code == 0
    monkeypatch.setattr(output, "stdin_is_terminal", lambda: True)
    ended = await cli("categories", "delete", "Audio", input="")
    assert ended.exit_code == 1
    assert "no answer" in ended.stderr and "Aborted" not in ended.output
    declined = await cli("categories", "delete", "Audio", input="n\n")
    assert declined.exit_code == 1 and "aborted, nothing changed" in declined.stderr


# -- help, completion, settings --------------------------------------------------------------


def _commands() -> list[list[str]]:
    from shopkit_cli.main import app

    found: list[list[str]] = []
    for group in app.registered_groups:
        assert group.typer_instance is not None
        found += [[str(group.name), str(c.name)] for c in group.typer_instance.registered_commands]
    found += [[str(c.name)] for c in app.registered_commands]
    return found


def test_every_command_has_an_example_and_the_help_fits_80_columns() -> None:
    commands = _commands()
    assert len(commands) >= 27
    env = {**os.environ, "COLUMNS": "80"}
    for args in [[], *commands]:
        run = subprocess.run(
            [*SHOPKIT, *args, "--help"], capture_output=True, text=True, env=env, timeout=60
        )
        assert run.returncode == 0, args
        assert "Examples:" in run.stdout and "$ shopkit " in run.stdout, args
        too_wide = [line for line in run.stdout.splitlines() if len(line) > 80]
        assert not too_wide, (args, too_wide)
        assert "╭" not in run.stdout  # plain text, no boxes to wrap badly


def test_shell_completion_is_on() -> None:
    script = subprocess.run(
        [*SHOPKIT, "--show-completion", "bash"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SHELL": "/bin/bash"},
    )
    assert script.returncode == 0, script.stderr
    assert "complete" in script.stdout and "_SHOPKIT" in script.stdout.upper()
    # What the installed script asks for when the user types `shopkit pro<TAB>`.
    env = {
        **os.environ,
        "_SHOPKIT_COMPLETE": "complete_bash",
        "COMP_WORDS": "shopkit pro",
        "COMP_CWORD": "1",
    }
    words = subprocess.run(
        [sys.executable, "-c", "from shopkit_cli.main import run; run()"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    candidates = set(words.stdout.split())
    assert {"products", "profiles"} <= candidates, (words.stdout, words.stderr)
    assert "serve" not in candidates


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"SHOPKIT_DATABASE_URL": "mysql://nope"},
            "error: invalid setting SHOPKIT_DATABASE_URL: the database URL must start with "
            "sqlite:///, postgresql://, postgres://, mongodb:// or mongodb+srv://",
        ),
        (
            {"SHOPKIT_BCRYPT_ROUNDS": "99"},
            "error: invalid setting SHOPKIT_BCRYPT_ROUNDS: must be less than or equal to 16",
        ),
    ],
)
def test_setting_errors_are_plain_words(env: dict[str, str], expected: str) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SHOPKIT_")}
    run = subprocess.run(
        [*SHOPKIT, "serve", "--port", "1"],
        capture_output=True,
        text=True,
        env=clean | env,
        timeout=60,
    )
    assert run.returncode == 2
    assert run.stderr.strip() == expected
    assert "Value error" not in run.stderr and "Input should" not in run.stderr


def test_an_invalid_email_for_create_admin_is_plain_words(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SHOPKIT_")}
    run = subprocess.run(
        [*SHOPKIT, "users", "create-admin", "-e", "nope", "--password-stdin"],
        input="long enough pw\n",
        capture_output=True,
        text=True,
        env=clean | {"SHOPKIT_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"},
        timeout=60,
    )
    assert run.returncode == 2
    assert run.stderr.strip() == "error: invalid email: An email address must have an @-sign"
