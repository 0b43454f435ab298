"""Write into ``docs/asyncapi.yaml`` what it takes from the code: the close codes.

Each entry of the websocket channel's ``x-close-codes`` names a constant of
``realtime/close_codes.py`` (``name: invalid-credentials`` is ``CLOSE_INVALID_CREDENTIALS``); its
``code`` is that constant's value. The rest of the document is left as written, comments
included. tests/realtime/test_close_codes.py fails while the committed file differs from this
command's output.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from gleepost.views import ASYNCAPI_PATH
from realtime import close_codes

# An entry of x-close-codes: its name, then its code, on the next line.
CLOSE_CODE_ENTRY = re.compile(r"^(?P<head>( +)- name: (?P<name>[a-z-]+)\n\2  code: )\d+$", re.M)


def close_code_named(name: str) -> int:
    """The value of the close code ``name`` (``invalid-credentials``) in realtime.close_codes."""
    value = close_codes.SENT_BY_NAME.get(name.upper().replace("-", "_"))
    if value is None:
        raise CommandError(f"x-close-codes: realtime/close_codes.py has no close code {name!r}")
    return value


def with_close_codes(text: str) -> str:
    """The AsyncAPI document ``text`` with each x-close-codes entry's code from the module."""
    return CLOSE_CODE_ENTRY.sub(
        lambda entry: f"{entry['head']}{close_code_named(entry['name'])}", text
    )


class Command(BaseCommand):
    help = "Write the close codes of realtime/close_codes.py into docs/asyncapi.yaml."

    def handle(self, *args: Any, **options: Any) -> None:
        text = ASYNCAPI_PATH.read_text(encoding="utf-8")
        updated = with_close_codes(text)
        if updated == text:
            self.stdout.write("docs/asyncapi.yaml is up to date")
            return
        ASYNCAPI_PATH.write_text(updated, encoding="utf-8")
        self.stdout.write("docs/asyncapi.yaml updated")
