"""Domain signals of the accounts app. Receivers live in other apps (e.g. ``realtime``)."""

from django.dispatch import Signal

# Sent after commit is not guaranteed: receivers that talk to the outside must defer to
# transaction.on_commit. Arguments: user_id: int, token_ids: list[int].
tokens_revoked = Signal()
