"""Issue 12 on real uvicorn servers: the many-workers warning, and a refresh held in flight by a slow
store while revoke_subject runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import REFRESH_SECRET, SECRET
from tests.servers import ROOT, free_port, uvicorn_server, wait_for_port

pytestmark = pytest.mark.e2e


def run_workers(app: str, env: dict[str, str], workers: int = 2) -> str:
    """Start ``uvicorn --workers N`` on 127.0.0.1, wait until it answers, stop it; its stderr."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, process=process)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # every worker has imported the app once /me answers a few times
            try:
                if httpx.get(f"http://127.0.0.1:{port}/me", timeout=2).status_code == 401:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        time.sleep(1.0)
    finally:
        process.terminate()
        try:
            _, stderr = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
    return stderr.decode(errors="replace")


def test_memory_store_under_uvicorn_workers_warns_once_per_worker_naming_redis_store() -> None:
    stderr = run_workers("example_app.main:app", {"APOJWT_SECRET": SECRET, "APOJWT_REFRESH_SECRET": REFRESH_SECRET})
    lines = [line for line in stderr.splitlines() if "MemoryStore" in line]
    assert len(lines) == 2, stderr  # one per worker process, at start-up
    assert all("RedisStore" in line for line in lines)
    assert "secrets are random" not in stderr  # the secrets were given


def test_example_app_with_random_secrets_under_workers_warns_too() -> None:
    env = dict.fromkeys(("APOJWT_SECRET", "APOJWT_REFRESH_SECRET"), "")
    stderr = run_workers("example_app.main:app", env)
    assert stderr.count("secrets are random") == 2, stderr
    assert "APOJWT_SECRET" in stderr


def test_single_process_is_quiet() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "example_app.main:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "APOJWT_SECRET": "", "APOJWT_REFRESH_SECRET": ""},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, process=process)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=15)
    assert "MemoryStore" not in stderr.decode()
    assert "secrets are random" not in stderr.decode()


def test_refresh_in_flight_on_a_slow_store_cannot_outlive_revoke_subject() -> None:
    with uvicorn_server("tests.e2e.slow_store_app:app") as server, server.client() as client:
        login = client.post("/auth/login")
        refresh, csrf = login.json()["refresh_token"], login.json()["csrf"]
        headers = {"Cookie": f"refresh_token={refresh}; csrf_refresh_token={csrf}", "X-CSRF-Token": csrf}
        with ThreadPoolExecutor(1) as pool, httpx.Client(base_url=server.url, timeout=10) as other:
            in_flight = pool.submit(other.post, "/auth/refresh", headers=headers)  # held ~1 s in the store
            time.sleep(0.4)
            assert client.post("/admin/logout-everywhere").status_code == 200
            rotated = in_flight.result()
        assert rotated.status_code == 200
        new_access = rotated.json()["access_token"]
        assert client.get("/me", headers={"Authorization": f"Bearer {new_access}"}).status_code == 401
        again = client.post("/auth/login")  # the change-password flow: a login right after the cut-off works
        fresh = again.json()["access_token"]
        assert client.get("/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
