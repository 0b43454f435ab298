"""Domain signals of the posts app: facts about networks, posts and views.

Receivers live in other apps (e.g. ``realtime``); this app never imports them. Every signal is
sent by ``posts.actions`` inside the action's transaction, as its last step, so a failed action
sends nothing. The transaction may still roll back after the send (an outer ``atomic`` block
can fail), so a receiver that talks to the outside world (the channel layer, a mail server) must
defer that work with ``transaction.on_commit``. The sender is always the model class.
"""

from django.dispatch import Signal

# Users joined a network (its creator included, when it is created).
# Arguments: network: Network, user_ids: list[int] (only those who were not members before).
network_members_added = Signal()

# A user left or was removed from a network and can no longer see its posts.
# Arguments: network: Network, user_id: int.
network_member_removed = Signal()

# Arguments: post: Post.
post_created = Signal()

# The post is marked deleted: nobody may see it or hear about it from now on.
# Arguments: post: Post.
post_deleted = Signal()

# Views were recorded. Arguments: counts: dict[int, int], post id -> its new total of views.
post_views_changed = Signal()

# Arguments: comment: Comment.
comment_added = Signal()
