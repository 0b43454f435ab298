"""Websocket close codes of the protocol (docs/websocket-protocol.md, Close codes).

Kept free of Django imports: the daphne entry point (gleepost.server) uses them before Django
is set up.
"""

# The client sent {"action":"UNSUBSCRIBE","posts":[]}: it asked for it.
CLOSE_NORMAL = 1000
# The server process is shutting down (a deploy, a restart): reconnect at once, to another
# process, and resume. Sent to every open websocket on SIGTERM (gleepost.shutdown).
CLOSE_GOING_AWAY = 1001
# Missing, bad, expired or revoked credentials: log in again.
CLOSE_INVALID_CREDENTIALS = 4001
# The client stopped reading and its unsent events passed the bound: reconnect and resume.
CLOSE_TOO_SLOW = 4009
# The client broke a documented limit (frames per second, connections per user); an error
# event saying which comes first. Reconnecting at once meets the same limit: back off.
CLOSE_POLICY = 4008
