"""The live console: a page that holds the user's websocket open and shows what arrives."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponse
from django.views.generic import TemplateView

from console.forms import ConsoleLoginForm
from realtime import close_codes

# The close codes the server sends, for console.js to act on: {"INVALID_CREDENTIALS": <its code>},
# so that the page never repeats a number.
CLOSE_CODES = close_codes.SENT_BY_NAME


class ConsoleView(LoginRequiredMixin, TemplateView):
    """The console page; everything live on it is done by console.js over the websocket and REST."""

    template_name = "console/index.html"
    login_url = "console:login"
    extra_context = {"close_codes": json.dumps(CLOSE_CODES)}


class ConsoleLoginView(auth_views.LoginView):
    template_name = "console/login.html"
    authentication_form = ConsoleLoginForm
    redirect_authenticated_user = True
    next_page = "console:index"

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        if isinstance(form, ConsoleLoginForm) and form.retry_after_secs is not None:
            # As POST login answers: scripts see the refusal, people read the form's message.
            response.status_code = 429
            response["Retry-After"] = str(form.retry_after_secs)
        return response


class ConsoleLogoutView(auth_views.LogoutView):
    next_page = "console:login"
