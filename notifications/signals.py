"""Domain signals of the notifications app. Receivers live in other apps (e.g. ``realtime``).

Sent by ``notifications.actions`` inside the action's transaction, which may still roll back:
receivers that talk to the outside world must defer with ``transaction.on_commit``. The sender
is the model class.
"""

from django.dispatch import Signal

# A notification was created for its recipient. Arguments: notification: Notification.
notification_created = Signal()
