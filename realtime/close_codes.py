"""Websocket close codes of the protocol (docs/websocket-protocol.md, Close codes).

The one definition of each code. The protocol doc's Close codes table lists the numbers, each
with the name that CLOSE_<NAME> gives it; ``manage.py update_asyncapi`` writes them into
docs/asyncapi.yaml; the console's page is rendered with them; the example clients copy them.
tests/realtime/test_close_codes.py checks that all of these agree with this module. Kept free of
Django imports: the daphne entry point (gleepost.server) uses them before Django is set up.
"""

# The codes the service sends (CLOSE_*), each with what the client does on it.

# The client sent {"action":"UNSUBSCRIBE","posts":[]}: it asked for it.
CLOSE_NORMAL = 1000
# The server process is shutting down (a deploy, a restart): reconnect after a random delay
# under a second, to another process, and resume. Sent to every open websocket on SIGTERM
# (gleepost.shutdown).
CLOSE_GOING_AWAY = 1001
# Missing, bad, expired or revoked credentials: log in again.
CLOSE_INVALID_CREDENTIALS = 4001
# The client stopped reading and its unsent events passed the bound: reconnect at once and resume.
CLOSE_TOO_SLOW = 4009
# The client broke a documented limit (frames per second, connections per user); an error
# event saying which comes first. Reconnecting at once meets the same limit: back off.
CLOSE_POLICY = 4008

# Codes a client may see that the service's own code never sends (not CLOSE_*): named so that
# logs and docs can say what they mean. A client reconnects and resumes after either.

# RFC 6455 7.1.5: the connection ended without a close frame (network loss, a crashed server,
# daphne dropping a message over its size limit). Reported by the client library, never sent.
NO_CLOSE_FRAME = 1006
# Sent by daphne itself when the application raised while the connection was open.
DAPHNE_INTERNAL_ERROR = 1011

# Every code the service sends, by its name without ``CLOSE_`` (``"INVALID_CREDENTIALS"``): the
# console's page and ``manage.py update_asyncapi`` take their numbers from here.
SENT_BY_NAME: dict[str, int] = {
    name.removeprefix("CLOSE_"): value
    for name, value in dict(globals()).items()
    if name.startswith("CLOSE_") and isinstance(value, int)
}
