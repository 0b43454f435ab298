"""Credentials taken out of text that is about to be logged.

Clients send tokens in query strings and bodies (``?id=&token=``, ``pass=`` at login), in
headers (``X-GP-Auth``, ``Authorization``) and in JSON. Every log line goes through ``redact``
(gleepost.logs.RedactingFilter), whatever wrote it, so that a token or password that reaches a
message, a field or a traceback by mistake is still never written.

Kept free of Django imports: the daphne entry point uses it before Django is set up.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"

# Names whose values are secrets wherever they appear as key=value or as a JSON/dict key.
_SECRET_NAMES = (
    r"(?:[a-z_]*token|pass|password|passwd|secret|api_key|sessionid|csrfmiddlewaretoken)"
)
# Headers whose whole value is a credential.
_SECRET_HEADERS = r"(?:authorization|proxy-authorization|x-gp-auth|cookie|set-cookie)"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Query strings and form bodies: token=abc&pass=xyz (not "bypass=", hence the look-behind).
    (re.compile(rf"(?i)(?<![a-z0-9])({_SECRET_NAMES}=)[^&;,\s\"'<>]*"), rf"\1{REDACTED}"),
    # JSON and Python dict literals: "token": "abc", 'pass': 'xyz', "token": 123.
    (
        re.compile(
            rf"""(?i)(["'](?:{_SECRET_NAMES}|{_SECRET_HEADERS})["']\s*:\s*)"""
            r"""(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^,}\s]+)"""
        ),
        rf'\1"{REDACTED}"',
    ),
    # ASGI header pairs as Python prints them: (b'x-gp-auth', b'9-abc').
    (
        re.compile(
            rf"""(?i)(b?["']{_SECRET_HEADERS}["']\s*,\s*)b?(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
        ),
        rf"\1'{REDACTED}'",
    ),
    # Header lines: "Authorization: Bearer abc", "X-GP-Auth: 9-abc" (to the end of the line).
    (re.compile(rf"(?i)(?<![a-z0-9-])({_SECRET_HEADERS}\s*:\s*)[^\r\n\"']+"), rf"\1{REDACTED}"),
    # A bearer or basic credential anywhere else.
    (re.compile(r"(?i)\b(bearer|basic)\s+[a-z0-9._~+/=-]+"), rf"\1 {REDACTED}"),
)


def redact(text: str) -> str:
    """``text`` with every credential it carries replaced by ``[redacted]``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
