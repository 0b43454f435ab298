"""gleepost.media_urls: a stored file's URL is absolute on PUBLIC_URL unless MEDIA_URL already
is, and stays the storage's path while PUBLIC_URL is empty; a malformed PUBLIC_URL is refused
with the reason."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage

from gleepost.media_urls import absolute_media_url, checked_public_url

NAME = "videos/mp4/a1 b2.mp4"


def public_url(settings: Any, value: str) -> None:
    settings.GLEEPOST = {**getattr(settings, "GLEEPOST", {}), "PUBLIC_URL": value}


@pytest.mark.parametrize(
    ("media_url", "public", "expected"),
    [
        # A path MEDIA_URL, on PUBLIC_URL, whichever of them ends or starts with a slash.
        ("/media/", "https://gleepost.example.com", "https://gleepost.example.com/media/"),
        ("/media/", "https://gleepost.example.com/", "https://gleepost.example.com/media/"),
        ("/media/", "https://gleepost.example.com//", "https://gleepost.example.com/media/"),
        ("media/", "http://127.0.0.1:8000", "http://127.0.0.1:8000/media/"),
        ("/files/up/", "http://[::1]:8000", "http://[::1]:8000/files/up/"),
        # An absolute MEDIA_URL (a CDN) is used as it is, PUBLIC_URL or not.
        (
            "https://cdn.example.com/m/",
            "https://gleepost.example.com",
            "https://cdn.example.com/m/",
        ),
        ("https://cdn.example.com/m/", "", "https://cdn.example.com/m/"),
        ("//cdn.example.com/m/", "https://gleepost.example.com", "//cdn.example.com/m/"),
        # No PUBLIC_URL: the path, as Django's storage makes it.
        ("/media/", "", "/media/"),
    ],
)
def test_a_stored_files_url(settings: Any, media_url: str, public: str, expected: str) -> None:
    settings.MEDIA_URL = media_url
    public_url(settings, public)
    # The storage quotes the name: the space arrives as %20, once.
    assert absolute_media_url(default_storage.url(NAME)) == f"{expected}videos/mp4/a1%20b2.mp4"


def test_an_absolute_url_is_never_rebased(settings: Any) -> None:
    public_url(settings, "https://gleepost.example.com")
    url = "http://media.example.com/a2.mp4"
    assert absolute_media_url(url) == url


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ("", ""),
        ("   ", ""),
        ("https://gleepost.example.com", "https://gleepost.example.com"),
        ("https://gleepost.example.com/", "https://gleepost.example.com"),
        (" http://127.0.0.1:8000/ ", "http://127.0.0.1:8000"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("HTTPS://Gleepost.Example.com", "HTTPS://Gleepost.Example.com"),
    ],
)
def test_a_public_url_is_taken_without_its_trailing_slash(configured: str, expected: str) -> None:
    assert checked_public_url(configured) == expected


@pytest.mark.parametrize(
    ("configured", "reason"),
    [
        ("gleepost.example.com", "must start with http:// or https://"),
        ("localhost:8000", "must start with http:// or https://"),
        ("ftp://gleepost.example.com", "must start with http:// or https://"),
        ("//gleepost.example.com", "must start with http:// or https://"),
        ("https://", "has no host"),
        ("http://:8000", "has no host"),
        ("https://gleepost.example.com:99999", "is not a URL"),
        ("https://gleepost.example.com:eighty", "is not a URL"),
        ("https://gleepost.example.com:0", "has port 0"),
        ("https://gleepost .example.com", "is not a URL"),
        ("https://gleepost.example.com/app", "no path, query or fragment"),
        ("https://gleepost.example.com/media/", "no path, query or fragment"),
        ("https://gleepost.example.com?a=1", "no path, query or fragment"),
        ("https://gleepost.example.com#top", "no path, query or fragment"),
        ("https://ops:s3cret@gleepost.example.com", "must not carry a user name or password"),
    ],
)
def test_a_malformed_public_url_is_refused_with_the_reason(configured: str, reason: str) -> None:
    with pytest.raises(ImproperlyConfigured) as refused:
        checked_public_url(configured)
    message = str(refused.value)
    assert message.startswith("GLEEPOST_PUBLIC_URL ")
    assert reason in message
    assert "https://gleepost.example.com" in message  # what a good one looks like
    assert "s3cret" not in message
