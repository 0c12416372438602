"""Ctrl-C and SIGTERM during a command: the run in flight closes its history row as `interrupted`.

SIGINT already raises KeyboardInterrupt (asyncio cancels the run's task first); SIGTERM is made to do the
same, so `kill` and a container stop leave the state as tidy as Ctrl-C. The exit code is 128 + the signal.
asyncio.run turns Ctrl-C into KeyboardInterrupt only when its task was cancelled exactly once; when a
library inside the run had cancelled it too (a timeout scope), CancelledError comes out instead: that is
the same interruption, and ends the same way.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import typer

from engine.cli import output


class Interrupted(KeyboardInterrupt):
    """A signal asked the command to stop; `code` is the exit code the shell expects (130, 143)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.code = 128 + signum


def _raise(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signum)


@contextmanager
def interruptible() -> Iterator[None]:
    """Within the block SIGTERM raises `Interrupted` as Ctrl-C raises KeyboardInterrupt; either ends the command
    with `interrupted` and 128 + the signal (typer would turn Ctrl-C into a silent exit 130)."""
    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    except (KeyboardInterrupt, asyncio.CancelledError) as stop:
        output.fail("interrupted")
        raise typer.Exit(exit_code(stop)) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def exit_code(error: BaseException) -> int:
    return error.code if isinstance(error, Interrupted) else 130
