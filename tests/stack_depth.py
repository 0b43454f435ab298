"""Calling code deep in the stack: for parsers whose answer once depended on it (issue 13)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

Result = TypeVar("Result")


def at_stack_depth(frames_left: int, call: Callable[[], Result]) -> Result:
    """``call()`` made with only ``frames_left`` frames left before the recursion limit."""
    depth = 0
    frame = sys._getframe()
    while frame is not None:  # the frames already on the stack (pytest's, hypothesis')
        depth += 1
        frame = frame.f_back  # type: ignore[assignment]

    def descend(remaining: int) -> Result:
        return call() if remaining <= 0 else descend(remaining - 1)

    return descend(sys.getrecursionlimit() - depth - frames_left)
