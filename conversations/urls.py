from conversations import views
from gleepost.routes import api_route

urlpatterns = [
    api_route("conversations", views.ConversationListView.as_view(), "conversations"),
    api_route(
        "conversations/<int:conversation_id>", views.ConversationView.as_view(), "conversation"
    ),
    api_route(
        "conversations/<int:conversation_id>/participants",
        views.ParticipantsView.as_view(),
        "conversation-participants",
    ),
    api_route(
        "conversations/<int:conversation_id>/messages",
        views.MessagesView.as_view(),
        "conversation-messages",
    ),
]
