from gleepost.routes import api_route
from posts import views

urlpatterns = [
    api_route("networks", views.NetworksView.as_view(), "networks"),
    api_route("networks/<int:network_id>/users", views.NetworkUsersView.as_view(), "network-users"),
    api_route(
        "networks/<int:network_id>/users/<int:user_id>",
        views.NetworkUserView.as_view(),
        "network-user",
    ),
    api_route("networks/<int:network_id>/posts", views.NetworkPostsView.as_view(), "network-posts"),
    api_route("posts/<int:post_id>", views.PostDetailView.as_view(), "post"),
    api_route("views/posts", views.PostViewsView.as_view(), "post-views"),
    api_route("posts/<int:post_id>/comments", views.PostCommentsView.as_view(), "post-comments"),
    api_route("posts/<int:post_id>/likes", views.PostLikesView.as_view(), "post-likes"),
]
