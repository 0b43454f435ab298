"""Domain signals of conversations: one per fact a client may need to hear about.

They are sent inside the transaction that made the change. A receiver that talks to the outside
world (the realtime layer) must defer that work with ``transaction.on_commit`` so a rolled-back
change announces nothing.
"""

from django.dispatch import Signal

# conversation: Conversation, user_ids: list[int] (everyone placed in it by this change)
conversation_created = Signal()
# conversation: Conversation, user_ids: list[int] (only the newly added users)
participants_added = Signal()
# conversation: Conversation, user_id: int (left a regular conversation)
participant_left = Signal()
# message: Message, read_markers: dict[int, int] (user id: last read message id of everyone in
# the conversation as the message was sent; its recipients)
message_sent = Signal()
# conversation: Conversation, user_id: int, last_read: int (the marker moved forward)
messages_read = Signal()
# conversation: Conversation (a live conversation ended, by a user, an admin or its expiry)
conversation_ended = Signal()
# conversation: Conversation (a live conversation became a regular one)
conversation_made_regular = Signal()
