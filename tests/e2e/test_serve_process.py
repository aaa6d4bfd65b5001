"""`shopkit serve` and `shopkit users create-admin` as a new user runs them: real processes."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import httpx

from tests.e2e.procs import SHOPKIT, free_port, start, stop, wait_healthy


def _env(tmp_path: Path) -> dict[str, str]:
    # No SHOPKIT_JWT_SECRET_KEY: all-in-one must generate and keep one itself.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPKIT_")}
    return env | {"SHOPKIT_BCRYPT_ROUNDS": "4", "SHOPKIT_LOG_JSON": "true"}


def test_serve_answers_health_and_auth_over_a_real_socket(tmp_path: Path) -> None:
    env = _env(tmp_path)
    create = subprocess.run(
        [
            *SHOPKIT,
            "users",
            "create-admin",
            "--email",
            "Boss@Example.com",
            "--password",
            "admin password 1",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert create.returncode == 0, create.stderr
    assert "created admin boss@example.com" in create.stderr
    port = free_port()
    proc = start(
        [*SHOPKIT, "serve", "--port", str(port)], env=env, cwd=tmp_path, log=tmp_path / "serve.log"
    )
    try:
        base = f"http://127.0.0.1:{port}"
        health = wait_healthy(f"{base}/health", proc)
        assert health.json() == {
            "status": "ok",
            "service": "shopkit",
            "version": health.json()["version"],
            "database": "ok",
        }
        assert httpx.get(f"{base}/api/health").status_code == 200
        login = httpx.post(
            f"{base}/api/auth/login",
            json={"email": "boss@example.com", "password": "admin password 1"},
        )
        assert login.status_code == 200, login.text
        assert login.json()["user"]["role"] == "admin"
        assert login.headers["x-request-id"]
        token = login.json()["tokens"]["access_token"]
        users = httpx.get(f"{base}/api/auth/users", headers={"Authorization": f"Bearer {token}"})
        assert users.status_code == 200 and users.json()["total"] == 1
        reg = httpx.post(
            f"{base}/api/auth/register",
            json={"email": "c@example.com", "password": "customer pw 1", "name": "C"},
            headers={"X-Request-ID": "trace-me-123"},
        )
        assert reg.status_code == 201
        assert reg.headers["x-request-id"] == "trace-me-123"
    finally:
        assert stop(proc) == 0
    # The SQLite file and the generated secret (owner-only) sit in the working directory.
    assert (tmp_path / "shopkit.db").exists()
    secret = tmp_path / "shopkit.db.jwt-secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    log = (tmp_path / "serve.log").read_text()
    assert '"request_id": "trace-me-123"' in log
    assert "generated_jwt_secret" in log


def test_bad_database_url_is_one_clear_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [*SHOPKIT, "serve", "--database-url", "mysql://nope"],
        env=_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "--database-url" in lines[0] and "sqlite:///" in lines[0]


def test_one_service_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    result = subprocess.run(
        [*SHOPKIT, "serve", "--service", "cart", "--port", str(free_port())],
        env=_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SHOPKIT_JWT_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_create_admin_refuses_duplicates_and_weak_passwords(tmp_path: Path) -> None:
    env = _env(tmp_path)
    args = [*SHOPKIT, "users", "create-admin", "--email", "a@example.com"]
    first = subprocess.run(
        [*args, "--password", "long enough pw"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert first.returncode == 0, first.stderr
    again = subprocess.run(
        [*args, "--password", "long enough pw"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 1 and "already exists" in again.stderr
    weak = subprocess.run(
        [*args[:-1], "b@example.com", "--password", "short"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert weak.returncode == 2 and "password" in weak.stderr
    assert "Traceback" not in first.stderr + again.stderr + weak.stderr
