"""A check of our own for the Schemathesis run of tests/gleepost/test_schemathesis.py (loaded by
``st`` through ``SCHEMATHESIS_HOOKS``).

Schemathesis's ``positive_data_acceptance`` fails a schema-valid request answered 400. A few such
refusals are right: rules a schema cannot state (the conversation is not live, the message is
not in it). The run lets 400 through that check only on the operations whose description lists
refusals, and this check holds each of them to the list: the reason answered must be quoted
in the description of the operation (gleepost.openapi.refusals), ``<...>`` standing for the part
that varies.
"""

from __future__ import annotations

import json
import re
from typing import Any

import schemathesis


@schemathesis.check
def refusals_of_valid_requests_are_documented(ctx: Any, response: Any, case: Any) -> None:
    """A schema-valid request refused with 400 carries a reason its operation's description
    lists."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return
    try:
        reason = json.loads(response.content)["error"]
    except (ValueError, KeyError, TypeError):
        reason = None
    description = str(case.operation.definition.raw.get("description", ""))
    if not isinstance(reason, str) or not any(
        re.fullmatch(_pattern(listed), reason) for listed in re.findall(r"`([^`]+)`", description)
    ):
        raise AssertionError(
            f"A schema-valid request was refused with 400 {reason!r}, a reason the "
            "operation's description does not list: the schema should state the rule, or "
            "the server should accept the request."
        )


def _pattern(listed: str) -> str:
    """A reason as the description quotes it, ``<...>`` standing for any text (an id)."""
    return ".+".join(re.escape(part) for part in re.split(r"<[^>]*>", listed))
