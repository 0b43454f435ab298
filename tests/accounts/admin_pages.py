"""The admin's user pages as a browser submits them, for tests that change a user there."""

from __future__ import annotations

from django.test import Client


def submit_user_change(client: Client, user_id: int, **changes: str) -> None:
    """Submit the admin's change form of user ``user_id`` as it stands, with ``changes``
    (``is_active=""`` unticks "Active"); the form must be accepted."""
    path = f"/admin/accounts/user/{user_id}/change/"
    form = client.get(path).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if name != "password"}
    data = {name: value for name, value in data.items() if value is not None}
    joined = data.pop("date_joined")
    data["date_joined_0"], data["date_joined_1"] = joined.strftime("%Y-%m-%d %H:%M:%S").split()
    data.pop("last_login", None)
    data.update(changes)
    response = client.post(path, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
