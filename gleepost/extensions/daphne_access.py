"""daphne's own access log with credentials redacted, however daphne is started.

daphne writes its access log itself (``daphne.access.AccessLogGenerator``), straight to stdout
or to the ``--access-log`` file rather than through logging, so the handlers' RedactingFilter
(gleepost.logs) never sees it. Each line holds the request's URI with its query string, and
clients may send ``?id=&token=`` and ``pass=`` there (rest-api.md; a browser's websocket has no
other way): plain ``daphne gleepost.asgi:application``, as the Channels docs start a project,
wrote tokens and passwords to its log.

``install()`` wraps ``AccessLogGenerator.write_entry``, the public method through which daphne
writes every line of it, so that each text it is given goes through gleepost.redaction.redact
first. gleepost.asgi installs it: every way of starting daphne (its console script,
``python -m daphne``, gleepost.server) imports the application before the first line is
written, and the class is patched, not an instance. gleepost.server's own access log (a
subclass writing log records, redacted by their handlers) does not call ``write_entry``.

Relies on: ``daphne.access.AccessLogGenerator.write_entry`` receiving the request line as a
string argument, and ``daphne.cli`` using that class (daphne 4.2;
tests/gleepost/extensions/test_daphne_access.py fails if either changes).
Retired by: daphne writing its access log through logging (django/daphne#473, for #116), where a
filter of LOGGING would redact it like every other line.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from daphne.access import AccessLogGenerator

from gleepost.redaction import redact

WriteEntry = Callable[..., None]


def _redacted(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


def redacting(write_entry: WriteEntry) -> WriteEntry:
    """``write_entry`` with every string it is given (the request line above all) redacted."""

    @functools.wraps(write_entry)
    def write_redacted_entry(self: AccessLogGenerator, *args: Any, **kwargs: Any) -> None:
        write_entry(
            self,
            *(_redacted(value) for value in args),
            **{name: _redacted(value) for name, value in kwargs.items()},
        )

    write_redacted_entry.redacts_credentials = True  # type: ignore[attr-defined]
    return write_redacted_entry


def installed() -> bool:
    """True when daphne's access log redacts credentials in this process."""
    return getattr(AccessLogGenerator.write_entry, "redacts_credentials", False)


def install() -> None:
    """Make daphne's access log redact credentials (once per process, whoever asks again)."""
    if not installed():
        AccessLogGenerator.write_entry = redacting(AccessLogGenerator.write_entry)
