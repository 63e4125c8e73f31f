"""run_sync: how synchronous callers (Flask views, def handlers) drive the async guards."""

import asyncio
import contextvars
import threading

import anyio
import anyio.to_thread
import pytest

from fastapi_apojwt._decorate import run_sync

marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")


async def bare_yields() -> str:
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    return "stepped"


async def real_io() -> tuple[str, str]:
    await asyncio.sleep(0.001)
    return marker.get(), threading.current_thread().name


def test_in_process_coroutines_run_without_a_loop() -> None:
    assert run_sync(bare_yields, in_process=True) == "stepped"


def test_io_runs_on_one_background_loop_in_the_callers_context() -> None:
    marker.set("caller")
    first = run_sync(real_io)
    second = run_sync(real_io, in_process=True)  # claimed in-process, needed a loop: still fine
    assert first == second  # one loop, in one background thread, for every call
    assert first[0] == "caller"
    assert first[1] != threading.current_thread().name


def test_errors_propagate() -> None:
    async def boom() -> None:
        await asyncio.sleep(0.001)
        raise KeyError("x")

    with pytest.raises(KeyError):
        run_sync(boom)


def test_from_a_worker_thread_it_uses_the_applications_loop() -> None:
    async def main() -> str:
        loop_thread = threading.current_thread().name

        def in_worker() -> str:
            return run_sync(real_io)[1]

        used = await anyio.to_thread.run_sync(in_worker)
        return "same" if used == loop_thread else used

    assert anyio.run(main) == "same"
