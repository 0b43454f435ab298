"""Run daphne with an access log that never contains a token.

Clients may authenticate with ``?id=&token=`` (rest-api.md), and daphne's access log writes
each request's full URI, query string included. ``python -m gleepost.server`` takes daphne's own
command-line arguments and runs it with the token (and any password) in the query redacted.
"""

from __future__ import annotations

import re
from typing import Any

import daphne.cli
from daphne.access import AccessLogGenerator

_SECRET_PARAMETER = re.compile(r"(?i)([?&](?:token|pass|password)=)[^&\s\"]*")


def redact(text: str) -> str:
    """``text`` with the values of token and password query parameters replaced."""
    return _SECRET_PARAMETER.sub(r"\1[redacted]", text)


class RedactingAccessLog(AccessLogGenerator):
    def write_entry(self, host: Any, date: Any, request: str, *args: Any, **kwargs: Any) -> None:
        super().write_entry(host, date, redact(request), *args, **kwargs)


def main() -> None:
    daphne.cli.AccessLogGenerator = RedactingAccessLog
    daphne.cli.CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
