from accounts import views
from gleepost.routes import api_route

urlpatterns = [
    api_route("register", views.RegisterView.as_view(), "register"),
    api_route("login", views.LoginView.as_view(), "login"),
    api_route("logout", views.LogoutView.as_view(), "logout"),
    api_route("user/<int:user_id>", views.UserView.as_view(), "user"),
]
