"""Helpers for tests that run real processes: free ports, waiting for health, clean stops."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

SHOPKIT = [sys.executable, "-m", "shopkit_cli.main"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    log: Path | None = None,
) -> subprocess.Popen[bytes]:
    merged = {**os.environ, "SHOPKIT_LOG_JSON": "true", **(env or {})}
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        list(args),
        env=merged,
        cwd=cwd,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            reply = httpx.get(url, timeout=1.0)
            if reply.status_code == 200:
                return reply
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not become healthy in {timeout}s ({last!r})")


def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> int:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


def wait_for_log(path: Path, needle: str, timeout: float = 10.0) -> None:
    """Wait (a bounded poll) until ``needle`` is in the log at ``path``.

    A service writes its access-log line after it sent the reply, so the client can see the
    answer before the line is on disk: reading the log at once was a flaky test.
    """
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text() if path.exists() else ""
        if needle in text:
            return
        if time.monotonic() >= deadline:
            tail = "\n".join(text.splitlines()[-5:])
            raise AssertionError(f"{needle!r} not in {path.name} after {timeout}s; tail:\n{tail}")
        time.sleep(0.05)
