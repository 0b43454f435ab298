"""The console's login form: email and password, as ``POST login``, under the same rate limits."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from accounts import throttling
from accounts.models import User
from gleepost.errors import RateLimited


class ConsoleLoginForm(AuthenticationForm):
    """Django's login form, asking for the email people log in to the app with."""

    username = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Wrong email or password.",
    }

    # Set when the answer is "too many attempts", so that the view can answer 429 as POST login.
    retry_after_secs: int | None = None

    def clean(self) -> dict[str, Any]:
        request = self.request
        assert request is not None, "LoginView passes the request"
        try:
            # The same order as POST login: the IP first, then the account, then the password,
            # so that a refused guess is never evaluated.
            throttling.check_login_ip(request)
            email = self.cleaned_data.get("username")
            password = self.cleaned_data.get("password")
            if email and password:
                throttling.check_login_account(request, email)
                self.user_cache = _authenticate(request, email, password)
                if self.user_cache is None:
                    raise self.get_invalid_login_error()
                throttling.login_succeeded(request, email)
                self.confirm_login_allowed(self.user_cache)
        except RateLimited as limited:
            self.retry_after_secs = limited.wait
            raise ValidationError(str(limited.detail), code="rate_limited") from limited
        return self.cleaned_data


def _authenticate(request: HttpRequest, email: str, password: str) -> User | None:
    # Through authenticate(), not check_password(): login() then knows the backend, and
    # user_login_failed fires for a wrong password as it does for the admin's form.
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        return None
    authenticated = authenticate(request, username=user.get_username(), password=password)
    return authenticated if isinstance(authenticated, User) else None
