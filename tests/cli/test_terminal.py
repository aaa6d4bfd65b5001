"""The CLI as a terminal user meets it: real processes, real pipes, a real pseudo-terminal.

Pipes: ``shopkit products list | head -1`` closes the pipe early; the command must exit quietly
(141, like git or gh killed by SIGPIPE). Prompts: ``create-admin`` asks on the terminal, hidden,
and asks again; Ctrl-C there is 130. ``serve`` refuses a busy port before any banner, and
Ctrl-C stops it with 130. Long commands draw progress on a terminal and sum up when piped.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import socket
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.procs import SHOPKIT, free_port, start, stop, wait_healthy

pytestmark = pytest.mark.e2e

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
PASSWORD = "admin password 1"


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPKIT_")}
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR", "COLUMNS"):
        env.pop(name, None)
    return env | {
        "SHOPKIT_BCRYPT_ROUNDS": "4",
        "SHOPKIT_LOG_JSON": "true",
        "SHOPKIT_CONFIG_DIR": str(home / "config"),
        "SHOPKIT_DATABASE_URL": f"sqlite:///{home / 'shop.db'}",
    }


def shopkit(
    env: dict[str, str], *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SHOPKIT, *args], env=env, input=input, capture_output=True, text=True, timeout=60
    )


@dataclass
class Shop:
    env: dict[str, str]  # logged in as the admin, SHOPKIT_BASE_URL set
    home: Path


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """A real `shopkit serve --demo` (73 products), and an admin logged in to it."""
    home = tmp_path_factory.mktemp("terminal")
    env = clean_env(home)
    created = shopkit(
        env,
        "users",
        "create-admin",
        "-e",
        "boss@example.com",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert created.returncode == 0, created.stderr
    port = free_port()
    proc = start(
        [*SHOPKIT, "serve", "--port", str(port), "--demo"],
        env=env,
        cwd=home,
        log=home / "serve.log",
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/health", proc)
        env = env | {"SHOPKIT_BASE_URL": f"http://127.0.0.1:{port}/api"}
        login = shopkit(
            env, "login", "-e", "boss@example.com", "--password-stdin", input=PASSWORD + "\n"
        )
        assert login.returncode == 0, login.stderr
        yield Shop(env=env, home=home)
    finally:
        stop(proc)


# -- pipes ---------------------------------------------------------------------------------


def run_into_closed_pipe(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run with stdout a pipe whose reader is already gone (`| head -0`, deterministic)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [*SHOPKIT, *args],
            env=env,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)


def test_products_list_into_a_closed_pipe_exits_141_quietly(shop: Shop) -> None:
    result = run_into_closed_pipe(shop.env, "products", "list", "--all-pages")
    assert result.returncode == 141
    assert result.stderr == ""  # no "unexpected BrokenPipeError", no "Exception ignored"


def test_help_and_json_into_a_closed_pipe_exit_141_quietly(shop: Shop) -> None:
    for args in (["--help"], ["products", "--help"], ["--json", "products", "list"]):
        result = run_into_closed_pipe(shop.env, *args)
        assert (result.returncode, result.stderr) == (141, ""), args


def test_head_reads_the_first_line_and_the_pipeline_ends_cleanly(shop: Shop) -> None:
    script = (
        'shopkit() { "$@"; }; '
        + " ".join(SHOPKIT)
        + (' products list --all-pages | head -1; echo "status ${PIPESTATUS[0]}"')
    )
    out = subprocess.run(
        ["bash", "-c", script], env=shop.env, capture_output=True, text=True, timeout=60
    )
    lines = out.stdout.splitlines()
    assert len(lines[0].split("\t")) == 8  # one product line
    assert lines[-1] in ("status 0", "status 141")  # 0 if it finished writing before head quit
    assert "Error" not in out.stderr and "error" not in out.stderr


# -- a pseudo-terminal ---------------------------------------------------------------------


class Terminal:
    """A process on a pseudo-terminal (its controlling tty, as in a real shell)."""

    def __init__(self, args: list[str], env: dict[str, str], *, stdout_pipe: bool = False):
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, b"\x00\x18\x00\x50\x00\x00\x00\x00")  # 24x80

        # A new session whose controlling terminal is this one (as a shell's child has), set
        # by a tiny exec wrapper rather than preexec_fn, which is unsafe with threads around.
        take_tty = (
            "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
            "os.execv(sys.argv[1], sys.argv[1:])"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", take_tty, *args],
            env=env | {"TERM": "xterm"},
            stdin=slave,
            stdout=subprocess.PIPE if stdout_pipe else slave,
            stderr=slave,
            start_new_session=True,
        )
        os.close(slave)
        self.seen = ""
        self.matched = 0

    def read(self, timeout: float = 0.2) -> None:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if ready:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the process ended and closed the terminal
                return
            self.seen += ANSI.sub("", chunk.decode(errors="replace"))

    def expect(self, text: str, timeout: float = 30.0) -> None:
        """Wait for ``text`` after the previous match (each prompt is matched once)."""
        deadline = time.monotonic() + timeout
        while (found := self.seen.find(text, self.matched)) < 0:
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared; the terminal shows {self.seen!r}")
            self.read()
        self.matched = found + len(text)

    def send(self, text: str) -> None:
        os.write(self.master, text.encode())

    def send_hidden(self, text: str, timeout: float = 30.0) -> None:
        """Type once the prompt has turned echo off: getpass flushes what was typed before.

        Call it after ``expect`` saw the previous answer's effect, so the echo-off seen here
        is the new prompt's."""
        deadline = time.monotonic() + timeout
        while termios.tcgetattr(self.master)[3] & termios.ECHO:
            if time.monotonic() > deadline:
                raise AssertionError(f"echo never went off; the terminal shows {self.seen!r}")
            self.read(0.01)
        self.send(text)

    def wait(self, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"still running; the terminal shows {self.seen!r}")
            self.read()
        self.read(0.1)
        os.close(self.master)
        return self.proc.returncode


def test_create_admin_asks_again_until_the_password_is_good_and_typed_twice(
    tmp_path: Path,
) -> None:
    env = clean_env(tmp_path)
    term = Terminal([*SHOPKIT, "users", "create-admin", "-e", "new@example.com"], env)
    term.expect("Password:")
    term.send_hidden("short\n")
    term.expect("the password must have at least 8 characters; try again")
    term.send_hidden("long enough 1\n")  # asked again, not exited
    term.expect("Repeat for confirmation:")
    term.send_hidden("long enough 2\n")
    term.expect("the two entries differ; try again")
    term.send_hidden("long enough 1\n")
    term.expect("Repeat for confirmation:")
    term.send_hidden("long enough 1\n")
    assert term.wait() == 0, term.seen
    assert "created admin new@example.com" in term.seen
    assert "long enough" not in term.seen and "short" not in term.seen  # never echoed
    assert term.seen.count("Password:") == 3
    login = shopkit(
        env,
        "users",
        "create-admin",
        "-e",
        "new@example.com",
        "--password-stdin",
        input="long enough 1\n",
    )
    assert login.returncode == 1 and "already exists" in login.stderr


def test_ctrl_c_at_a_prompt_exits_130(tmp_path: Path) -> None:
    term = Terminal([*SHOPKIT, "users", "create-admin", "-e", "c@example.com"], clean_env(tmp_path))
    term.expect("Password:")
    term.send_hidden("\x03")
    assert term.wait() == 130
    assert "error: interrupted" in term.seen
    assert "Aborted" not in term.seen


def test_ctrl_c_while_waiting_for_the_server_exits_130(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts the connection, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        silent.settimeout(30)
        port = silent.getsockname()[1]
        term = Terminal(
            [*SHOPKIT, "--base-url", f"http://127.0.0.1:{port}/api", "products", "list"],
            clean_env(tmp_path),
        )
        conn, _ = silent.accept()  # the request is on its way
        with conn:
            term.send("\x03")
            assert term.wait() == 130
    assert "error: interrupted" in term.seen
    assert "Traceback" not in term.seen and "Aborted" not in term.seen


def test_create_admin_piped_without_password_stdin_is_one_clear_line(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    piped = shopkit(env, "users", "create-admin", "-e", "p@example.com", input="whatever pw\n")
    assert piped.returncode == 2
    assert piped.stderr.strip().splitlines() == [
        "error: no terminal to ask for the password on: pipe it in with --password-stdin"
    ]
    weak = shopkit(
        env, "users", "create-admin", "-e", "p@example.com", "--password-stdin", input="short\n"
    )
    assert weak.returncode == 2
    assert weak.stderr.strip() == "error: invalid password: must have at least 8 characters"
    good = shopkit(
        env,
        "users",
        "create-admin",
        "-e",
        "p@example.com",
        "--password-stdin",
        input="long enough pw\n",
    )
    assert good.returncode == 0, good.stderr
    assert "GetPassWarning" not in piped.stderr + weak.stderr + good.stderr


def test_seed_and_export_draw_progress_on_a_terminal_and_sum_up_when_piped(
    shop: Shop, tmp_path: Path
) -> None:
    rows = ["sku,name,price,category"] + [f"T-{i},Thing {i},{i + 1}.50,Audio" for i in range(30)]
    catalog = tmp_path / "things.csv"
    catalog.write_text("\n".join(rows) + "\n")

    term = Terminal([*SHOPKIT, "seed", str(catalog)], shop.env, stdout_pipe=True)
    assert term.wait() == 0, term.seen
    assert re.search(r"seeding products .*30/30", term.seen), term.seen

    term = Terminal([*SHOPKIT, "products", "export", "-o", str(tmp_path / "out.json")], shop.env)
    assert term.wait() == 0, term.seen
    assert re.search(r"exporting products .*105/105", term.seen), term.seen

    term = Terminal([*SHOPKIT, "products", "list", "--all-pages"], shop.env, stdout_pipe=True)
    assert term.wait() == 0, term.seen
    assert re.search(r"fetching products .*105/105", term.seen), term.seen

    piped = shopkit(shop.env, "seed", str(catalog))
    assert piped.returncode == 0
    assert "seeding products" not in piped.stderr  # no bar in a log
    assert re.fullmatch(
        r"✓ seeded: 0 created, 0 updated, 30 unchanged in \d+\.\d s", piped.stderr.strip()
    ), piped.stderr
    exported = shopkit(shop.env, "products", "export")
    assert exported.returncode == 0 and exported.stdout.startswith("{")
    assert re.fullmatch(
        r"exported 105 products and \d+ categories in \d+\.\d s", exported.stderr.strip()
    ), exported.stderr


# -- serve ---------------------------------------------------------------------------------


def test_serve_on_a_busy_port_says_so_before_any_banner(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [*SHOPKIT, "serve", "--port", str(port)],
            env=clean_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: the port is in use (another `shopkit "
        "serve`?); stop it or pick another with --port"
    ]
    assert not (tmp_path / "shop.db").exists()  # refused before the store was even opened


def test_ctrl_c_stops_serve_cleanly_with_130(tmp_path: Path) -> None:
    port = free_port()
    proc = start(
        [*SHOPKIT, "serve", "--port", str(port)],
        env=clean_env(tmp_path),
        cwd=tmp_path,
        log=tmp_path / "serve.log",
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/health", proc)
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(30) == 130
    finally:
        stop(proc)
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log and "Finished server process" in log
