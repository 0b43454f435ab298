"""Checks for the framework contract tests (docs/frameworks.md): each failure names the framework's
private name, or the framework method a copy was made from, and the module of ours that relies on
it, so that an upgrade fails loudly and says what to re-review."""

from __future__ import annotations

import hashlib
import inspect
import textwrap
from importlib.metadata import version
from typing import Any


def qualified(owner: Any) -> str:
    """``module.Class`` (or ``module``) of ``owner``, for the failure messages."""
    if inspect.ismodule(owner):
        return str(owner.__name__)
    return f"{owner.__module__}.{owner.__qualname__}"


def require(owner: Any, name: str, *, used_by: str, distribution: str) -> None:
    """Fail, naming ``owner.name`` and ``used_by``, when the installed ``distribution`` lacks it."""
    try:
        present = hasattr(owner, name)
    except Exception:  # a __getattr__ that does more than look (channels-redis's layer)
        present = False
    assert present, (
        f"{qualified(owner)}.{name} is gone from {distribution} {version(distribution)}: "
        f"{used_by} relies on it (docs/frameworks.md)"
    )


def require_in_source(
    function: Any, text: str, *, meaning: str, used_by: str, distribution: str
) -> None:
    """Fail when ``function``'s source no longer contains ``text`` (what ``meaning`` says)."""
    source = inspect.getsource(function)
    assert text in source, (
        f"{qualified(function)} of {distribution} {version(distribution)} no longer has "
        f"{text!r} ({meaning}): {used_by} relies on it (docs/frameworks.md)"
    )


def source_digest(function: Any) -> str:
    """The first 16 hex digits of the SHA-256 of ``function``'s dedented source."""
    source = textwrap.dedent(inspect.getsource(function))
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def require_unchanged(
    function: Any, digest: str, *, copy: str, distribution: str, audited: str
) -> None:
    """Fail when the framework method ``copy`` was made from has changed since ``audited``."""
    found = source_digest(function)
    assert found == digest, (
        f"{qualified(function)} changed in {distribution} {version(distribution)} (source "
        f"digest {found}, {digest} in {distribution} {audited}): {copy} is a copy of it; "
        "re-review the copy against the new original, then record the new digest "
        "(docs/frameworks.md)"
    )
