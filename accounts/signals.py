"""Domain signals of the accounts app. Receivers live in other apps (e.g. ``realtime``)."""

from django.dispatch import Signal

# Sent after commit is not guaranteed: receivers that talk to the outside must defer to
# transaction.on_commit. Arguments: user_id: int, token_ids: list[int].
tokens_revoked = Signal()

# A user announced their presence (the websocket's ``presence`` action). Sent inside the
# transaction that stored it. Arguments: user_id: int, form: str ("desktop" or "mobile"),
# at: datetime (when it was announced, as stored on the user).
presence_changed = Signal()
