"""Shared pieces of the issue-11 benchmarks: servers, wrk, interleaved rounds, result files.

Every benchmark runs shopkit and its reference in the same run, interleaved round by round
(A, B, A, B, ...), and reports medians and the ratio, so a busy shared machine moves both
sides alike. Each result file records the machine (nproc, CPU model, Python), the date, the
load average before and after, and the exact command.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shlex
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable
SECRET = "bench-secret-" + "s" * 40
ADMIN_EMAIL, ADMIN_PASSWORD = "bench-admin@example.com", "bench admin password"
REPORT_LUA = ROOT / "bench" / "wrk_report.lua"
ONE_CORE = os.cpu_count() == 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children that were waited for."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def pinned(core: int, args: Sequence[str]) -> list[str]:
    """``taskset`` the command onto one core (servers on 0, load generators on 1)."""
    if ONE_CORE or not _has_taskset():
        return list(args)
    return ["taskset", "-c", str(core), *args]


def _has_taskset() -> bool:
    return subprocess.run(["which", "taskset"], capture_output=True).returncode == 0


def shop_env(db: Path, **extra: str) -> dict[str, str]:
    # As on a user's machine, a process caches its modules' bytecode: a shell that sets
    # PYTHONDONTWRITEBYTECODE (this workplace's does) makes every CLI run compile its imports
    # afresh (~0.4 s for `shopkit seed`), a cost no user pays after the first run.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SHOPKIT_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env |= {
        "SHOPKIT_DATABASE_URL": f"sqlite:///{db}",
        "SHOPKIT_JWT_SECRET_KEY": SECRET,
        "SHOPKIT_BCRYPT_ROUNDS": "4",
        "SHOPKIT_LOG_JSON": "true",
        "SHOPKIT_CONFIG_DIR": str(db.parent / "cli-config"),
        # every buyer of a benchmark registers and logs in from 127.0.0.1
        "SHOPKIT_LOGIN_ATTEMPTS_PER_ADDRESS": "0",
        "SHOPKIT_REGISTER_ATTEMPTS_PER_ADDRESS": "0",
    }
    env |= extra
    return env


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)


def start(args: Sequence[str], *, env: Mapping[str, str] | None = None, port: int,
          health: str = "/health", log: Path | None = None, core: int = 0) -> Server:
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - lives with the process
    proc = subprocess.Popen(pinned(core, args), env=dict(env or os.environ), cwd=ROOT,
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(proc, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"{args} exited {proc.returncode} before answering")
        try:
            if httpx.get(server.base + health, timeout=1).status_code < 500:
                return server
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise SystemExit(f"{server.base}{health} never answered")
        time.sleep(0.1)


def create_admin(env: Mapping[str, str]) -> None:
    subprocess.run([PYTHON, "-m", "shopkit_cli.main", "users", "create-admin", "--email",
                    ADMIN_EMAIL, "--password-stdin"], input=ADMIN_PASSWORD + "\n", text=True,
                   env=dict(env), check=True, capture_output=True, cwd=ROOT)


def start_shop(db: Path, *, port: int | None = None, log: Path | None = None,
               args: Sequence[str] = (), **env: str) -> Server:
    """An all-in-one ``shopkit serve`` (uvloop + httptools, the CLI's defaults) on core 0."""
    port = port or free_port()
    full_env = shop_env(db, **env)
    if not db.exists():
        create_admin(full_env)
    return start([PYTHON, "-m", "shopkit_cli.main", "serve", "--port", str(port), *args],
                 env=full_env, port=port, log=log)


def start_app(target: str, *, env: Mapping[str, str] | None = None, health: str) -> Server:
    """A reference app (``module:app``) on the same uvicorn settings as ``shopkit serve``."""
    port = free_port()
    return start([PYTHON, "-m", "uvicorn", target, "--port", str(port), "--log-level",
                  "warning", "--no-access-log", "--loop", "uvloop", "--http", "httptools"],
                 env={**os.environ, **(env or {})}, port=port, health=health)


def admin_token(base: str) -> str:
    reply = httpx.post(f"{base}/api/auth/login",
                       json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, timeout=30)
    reply.raise_for_status()
    return str(reply.json()["tokens"]["access_token"])


def generated_rows(count: int, *, start: int = 0, words: Sequence[str] | None = None,
                   category: str = "Audio", stock: int = 100) -> list[dict[str, Any]]:
    words = list(words or "wireless bluetooth speaker headphones cable charger lamp mug".split())
    return [
        {
            "sku": f"BENCH-{i:07d}",
            "name": f"{words[i % len(words)].title()} {words[(i * 7) % len(words)]} {i}",
            "description": f"{words[(i * 3) % len(words)]} generated product {i} for benchmarks",
            "price": f"{(i % 500) + 0.99:.2f}",
            "category": category,
            "tags": ["bench", words[(i * 5) % len(words)]],
            "stock": stock,
        }
        for i in range(start, start + count)
    ]


def bulk_import(base: str, token: str, rows: Sequence[dict[str, Any]]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=120) as client:
        for at in range(0, len(rows), 500):
            reply = client.post(f"{base}/api/products/bulk", json=list(rows[at:at + 500]),
                                headers=headers)
            reply.raise_for_status()
            failed = reply.json().get("failed")
            if failed:
                raise SystemExit(f"bulk import refused rows: {failed[:3]}")


def ensure_category(base: str, token: str, name: str, parent_id: str | None = None) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    body: dict[str, Any] = {"name": name}
    if parent_id:
        body["parent_id"] = parent_id
    reply = httpx.post(f"{base}/api/categories", json=body, headers=headers, timeout=30)
    if reply.status_code == 409:
        for item in httpx.get(f"{base}/api/categories", timeout=30).json():
            if item["name"] == name:
                return str(item["id"])
    reply.raise_for_status()
    return str(reply.json()["id"])


# -- wrk --------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests: int
    errors: int


def wrk(url: str, *, connections: int, seconds: float, env: Mapping[str, str] | None = None,
        headers: Sequence[str] = (), rate_check: bool = True) -> WrkResult:
    """One wrk run (1 thread, on core 1), with percentiles from bench/wrk_report.lua."""
    args = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s",
            str(REPORT_LUA), "--timeout", "30s"]
    for header in headers:
        args += ["-H", header]
    run = subprocess.run(pinned(1, [*args, url]), capture_output=True, text=True,
                         env={**os.environ, **(env or {})}, check=True)
    match = re.search(r"^REPORT (\{.*\})$", run.stdout, re.M)
    if not match:
        raise SystemExit(f"wrk printed no report for {url}:\n{run.stdout}\n{run.stderr}")
    data = json.loads(match.group(1))
    result = WrkResult(rps=data["requests"] / data["seconds"], p50_ms=data["p50"] / 1000,
                       p95_ms=data["p95"] / 1000, p99_ms=data["p99"] / 1000,
                       requests=data["requests"], errors=data["errors"])
    if rate_check and result.errors:
        raise SystemExit(f"{url}: {result.errors} error responses of {result.requests}")
    return result


# -- interleaved rounds -------------------------------------------------------------------------


@dataclass
class Sides:
    """Numbers per side over the rounds; ``median`` of each."""

    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, side: str, value: float) -> None:
        self.values.setdefault(side, []).append(value)

    def median(self, side: str) -> float:
        return statistics.median(self.values[side])

    def spread(self, side: str) -> str:
        got = self.values[side]
        return f"{min(got):,.4g}-{max(got):,.4g}" if len(got) > 1 else f"{got[0]:,.4g}"


def interleave(rounds: int, sides: Mapping[str, Callable[[], dict[str, float]]]) -> dict[str, Sides]:
    """Run each side once per round, alternating the order; metric -> Sides."""
    out: dict[str, Sides] = {}
    names = list(sides)
    for round_no in range(rounds):
        order = names if round_no % 2 == 0 else names[::-1]
        for name in order:
            for metric, value in sides[name]().items():
                out.setdefault(metric, Sides()).add(name, value)
        print(f"  round {round_no + 1}/{rounds} done (load {loadavg()})", flush=True)
    return out


# -- results ----------------------------------------------------------------------------------


def write_result(name: str, title: str, body: Sequence[str], *, load_before: str,
                 notes: Sequence[str] = ()) -> Path:
    command = "uv run python " + shlex.join(["bench/" + Path(sys.argv[0]).name, *sys.argv[1:]])
    sqlite_version = sqlite3.sqlite_version
    lines = [
        f"# {title}",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {os.cpu_count()} cores (nproc), {cpu_model()}, {platform.machine()}, "
        f"Python {platform.python_version()}, SQLite {sqlite_version}",
        f"- load average (1/5/15 min): {load_before} before, {loadavg()} after "
        "(a shared machine: read the ratios, which both sides share, not the absolute numbers)",
        f"- command: `{command}`",
        "",
        *body,
    ]
    if notes:
        lines += ["", *notes]
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.md"
    earlier = ""
    if path.exists():  # the runs before this one stay, newest first, under this one
        _, _, previous = path.read_text().partition("\n")
        earlier = (f"\n## Earlier (runs before {datetime.now(UTC):%Y-%m-%d %H:%M} UTC)\n"
                   f"{previous.rstrip()}\n")
    path.write_text("\n".join(lines) + "\n" + earlier)
    print("\n".join(lines))
    print(f"\nwritten: {path.relative_to(ROOT)}")
    return path


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"
