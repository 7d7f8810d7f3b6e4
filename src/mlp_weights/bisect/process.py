"""The child processes of a probe: run to the end, or stopped at once when the probe is cancelled.

Probes run side by side on worker threads. A probe that is no longer needed
(the search went the other way) or a bisect that is stopping (Ctrl-C,
SIGTERM) cancels its probes: each child process then dies with its whole
process group, so that no installer or test run outlives the command.
Children start in a session of their own, so a signal meant for the command
reaches them only through this.

The cancel event is the calling thread's (:func:`cancel_scope`), so the
installer and the layers' run need no extra parameter for it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass

#: Seconds between two looks at the cancel event while a child runs.
POLL_SECONDS = 0.1

_scope = threading.local()


class Cancelled(Exception):
    """The probe was cancelled; its child process has been killed."""


@dataclass
class Finished:
    """A child process that ran to its end."""

    returncode: int
    stdout: str
    stderr: str


@contextlib.contextmanager
def cancel_scope(event: threading.Event | None):
    """Within this block, children of the calling thread are killed once ``event`` is set."""
    previous = getattr(_scope, "event", None)
    _scope.event = event
    try:
        yield
    finally:
        _scope.event = previous


def cancelled() -> bool:
    """Whether the calling thread's probe has been cancelled."""
    event = getattr(_scope, "event", None)
    return event is not None and event.is_set()


def check_cancelled() -> None:
    """Raise :class:`Cancelled` when the calling thread's probe has been cancelled."""
    if cancelled():
        raise Cancelled


def pause(seconds: float) -> None:
    """Wait ``seconds``; raise :class:`Cancelled` as soon as the probe is cancelled."""
    event = getattr(_scope, "event", None)
    if event is None:
        time.sleep(seconds)
    elif event.wait(seconds):
        raise Cancelled


def _kill(process: subprocess.Popen) -> None:
    try:
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)
        else:  # pragma: no cover - no process groups
            process.kill()
    except (ProcessLookupError, PermissionError):
        pass
    process.communicate()


def run_process(argv: list[str], *, env: dict, timeout: float, cwd=None) -> Finished:
    """Run ``argv`` to its end and capture its output.

    Raises
    ------
    subprocess.TimeoutExpired
        After ``timeout`` seconds (the child is killed).
    Cancelled
        When the calling thread's probe is cancelled (the child is killed).
    """
    check_cancelled()
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                stdout, stderr = process.communicate(timeout=POLL_SECONDS)
            except subprocess.TimeoutExpired:
                check_cancelled()
                if time.monotonic() > deadline:
                    raise subprocess.TimeoutExpired(argv, timeout) from None
                continue
            return Finished(process.returncode, stdout, stderr)
    finally:
        if process.returncode is None:
            _kill(process)
