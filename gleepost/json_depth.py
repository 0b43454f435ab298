"""How deeply a JSON text nests, found before it is parsed: the one bound on nesting of REST
bodies (gleepost.parsers) and websocket frames (realtime.frames).

Python's json parser recurses once per array or object and raises RecursionError when it meets
the interpreter's recursion limit, counted from wherever it was called: the same text parsed or
failed depending on how deep the caller's stack was (issue 13). Checked first, a fixed bound
makes the answer a function of the text alone. No Django here: realtime.frames is pure.
"""

from __future__ import annotations

import re

# Far beyond any body or frame of the API (two levels: an object holding a list of ids, or a
# list of objects), far below the interpreter's recursion limit (1000) wherever it is called.
MAX_JSON_DEPTH = 32
# What a client is told (a REST 400's detail, a websocket frame's error reason).
TOO_DEEP = f"JSON nested too deeply (at most {MAX_JSON_DEPTH} levels)"

# A JSON string, escapes included (unrolled: no backtracking): brackets in one do not nest.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# Braces as brackets, and every other byte deleted: what is left is the nesting alone.
_AS_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def nests_deeper_than(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the arrays and objects of ``text`` nest more than ``limit`` deep.

    Exact for valid JSON. Of any other text it never says less than the parser would reach
    before failing; it may say more (of unclosed brackets, say), and the parser would refuse
    that text anyway."""
    # Too few brackets to nest that deep, strings' included: most texts stop here.
    if text.count("[") + text.count("{") <= limit:
        return False
    raw = _STRING.sub(b"", text.encode("utf-8", "surrogatepass"))
    brackets = raw.translate(_AS_BRACKETS, _NOT_BRACKETS)
    if b"[" * (limit + 1) in brackets:
        return True  # that many opened in a row (64 KiB of "[" stops here)
    # Each pass removes the innermost pairs, and lowers the deepest point by at most one: a
    # balanced text is empty after exactly as many passes as it nests deep. (Each pass is one
    # scan in C; a loop over the brackets in Python costs more than parsing them.)
    for passes in range(limit + 1):
        fewer = brackets.replace(b"[]", b"")
        if fewer == brackets:
            # Left: the unmatched closers, then the unmatched openers.
            closers = len(brackets) - len(brackets.lstrip(b"]"))
            openers = len(brackets) - closers
            return passes + max(0, openers - closers) > limit
        brackets = fewer
    return True
