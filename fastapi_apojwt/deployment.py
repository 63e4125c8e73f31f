"""Where this process runs: detect a multi-process server, where process-local token state breaks.

With the default ``MemoryStore`` every worker keeps its own revocations and
used refresh tokens: a logout in one worker is ignored by the others and a
refresh token can be used once per worker. ``ApoJWT`` calls
:func:`check_token_state` when it is built (each worker imports the app, so
that is start-up): one WARNING per process that names ``RedisStore``, or, with
``strict=True``, a ``ConfigurationError``.

What is detected (best effort: a server that forks without either sign is not):

* gunicorn: it sets ``SERVER_SOFTWARE=gunicorn/<version>`` in its workers'
  environment;
* uvicorn ``--workers N`` (and any other ``multiprocessing`` pool of servers):
  the workers are ``multiprocessing`` children, so
  ``multiprocessing.parent_process()`` is not ``None``. ``uvicorn --reload``
  also runs the app in one child process; it is recognised by its command line
  and not warned about.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys

from .errors import ConfigurationError

__all__ = ["check_token_state", "multi_process_server"]

logger = logging.getLogger("fastapi_apojwt.deployment")

_warned: set[str] = set()


def multi_process_server() -> str | None:
    """What multi-process server this process is a worker of (``"gunicorn"``, ...), or ``None``."""
    if os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn"):
        return "gunicorn"
    if multiprocessing.parent_process() is not None:
        argv = sys.argv
        if "--reload" in argv or any(arg.startswith("--reload") for arg in argv):
            return None  # uvicorn's reloader: one worker process
        return "a multi-process server (a multiprocessing child, e.g. uvicorn --workers N)"
    return None


def check_token_state(what: str, *, strict: bool, fix: str) -> None:
    """Warn once per process (``strict``: raise) when ``what`` is process-local under a multi-process server.

    Args:
        what: What is process-local, e.g. ``"ApoJWT's token state is in MemoryStore"``.
        strict: Raise ``ConfigurationError`` instead of warning.
        fix: What to do instead, e.g. ``"use RedisStore"``.
    """
    server = multi_process_server()
    if server is None:
        return
    message = (
        f"{what}, but this process is one worker of {server}: each worker has its own copy, so a "
        f"logout or revocation in one worker is ignored by the others and a refresh token can be used "
        f"once per worker. {fix}"
    )
    if strict:
        raise ConfigurationError(message)
    if what not in _warned:
        _warned.add(what)
        logger.warning("%s", message)
