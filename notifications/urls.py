from gleepost.routes import api_route
from notifications import views

urlpatterns = [
    api_route("notifications", views.NotificationsView.as_view(), "notifications"),
    api_route("contacts", views.ContactsView.as_view(), "contacts"),
    api_route("contacts/<int:user_id>", views.ContactView.as_view(), "contact"),
]
