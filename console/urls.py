"""URLs of the live console, under ``/console/``."""

from django.urls import path

from console import views

app_name = "console"

urlpatterns = [
    path("", views.ConsoleView.as_view(), name="index"),
    path("login/", views.ConsoleLoginView.as_view(), name="login"),
    path("logout/", views.ConsoleLogoutView.as_view(), name="logout"),
]
