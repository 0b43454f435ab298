"""``/`` says what the service is and links what a person can open; ``/favicon.ico`` is an icon."""

from __future__ import annotations

import logging
import re
from html.parser import HTMLParser

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

# What the landing page must link (the list), whatever else it links.
EXPECTED_LINKS = {
    "/console/",
    "/api/v1/docs",
    "/api/v1/schema",
    "/api/v1/asyncapi.yaml",
    "/admin/",
    "/examples/browser",
    "/readyz",
}


class Links(HTMLParser):
    """The ``href`` of every ``<a>``, and of every ``<link rel=icon>``."""

    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[str] = []
        self.icons: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        href = found.get("href")
        if href is None:
            return
        if tag == "a":
            self.anchors.append(href)
        elif tag == "link" and found.get("rel") == "icon":
            self.icons.append(href)


def landing_links(client: Client) -> Links:
    response = client.get("/")
    assert response.status_code == 200
    parser = Links()
    parser.feed(response.content.decode())
    return parser


def test_landing_page_is_html_and_names_the_service() -> None:
    response = Client().get("/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    text = response.content.decode()
    assert "<h1>Gleepost Realtime</h1>" in text
    assert "live event service" in text


def test_landing_page_links_everything_a_person_can_open() -> None:
    assert set(landing_links(Client()).anchors) >= EXPECTED_LINKS


def test_every_link_of_the_landing_page_answers() -> None:
    client = Client()
    links = landing_links(client)
    assert links.anchors
    for href in links.anchors + links.icons:
        # The console and the admin redirect to their login pages, the examples to their page.
        response = client.get(href, follow=True)
        assert response.status_code == 200, (href, response.status_code, response.redirect_chain)


def test_landing_page_answers_head_and_refuses_writes() -> None:
    client = Client()
    assert client.head("/").status_code == 200
    assert client.post("/").status_code == 405


def test_favicon_is_an_ico_file_that_browsers_may_cache() -> None:
    response = Client().get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/vnd.microsoft.icon"
    # ICONDIR: reserved 0, type 1 (icon), then the number of images.
    assert response.content[:4] == b"\0\0\1\0"
    assert "max-age=86400" in response["Cache-Control"]


def test_landing_page_links_the_favicon() -> None:
    assert landing_links(Client()).icons == ["/favicon.ico"]


def test_favicon_request_logs_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        Client().get("/favicon.ico")
    assert [record.getMessage() for record in caplog.records] == []


def test_console_pages_link_the_favicon() -> None:
    response = Client().get("/console/login/")
    assert response.status_code == 200
    parser = Links()
    parser.feed(response.content.decode())
    assert parser.icons == ["/favicon.ico"]


def test_the_admins_view_site_link_answers(admin_client: Client) -> None:
    page = admin_client.get("/admin/")
    assert page.status_code == 200
    view_site = re.search(r'<a href="([^"]*)">View site</a>', page.content.decode())
    assert view_site is not None
    assert admin_client.get(view_site[1]).status_code == 200
