"""Root URLs: a landing page, the v1 API under /api/v1/ with its documentation, health probes,
the admin, the console, and media in development."""

from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from gleepost import views
from gleepost.conf import gp_settings
from gleepost.files import serve
from gleepost.metrics import MetricsView
from gleepost.routes import api_route

api_v1: list[URLPattern | URLResolver] = [
    path("", include("accounts.urls")),
    path("", include("conversations.urls")),
    path("", include("notifications.urls")),
    path("", include("posts.urls")),
    path("", include("videos.urls")),
    # The API described, for client developers; readable without credentials (no data in it).
    api_route("schema", SpectacularAPIView.as_view(), "schema"),
    api_route("docs", SpectacularSwaggerView.as_view(url_name="schema"), "docs"),
    path("asyncapi.yaml", views.asyncapi_document, name="asyncapi"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.landing, name="landing"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("api/v1/", include(api_v1)),
    api_route("healthz", views.HealthzView.as_view(), "healthz"),
    api_route("readyz", views.ReadyzView.as_view(), "readyz"),
    api_route("metrics", MetricsView.as_view(), "metrics"),
    path("admin/", admin.site.urls),
    path("console/", include("console.urls")),
]

if gp_settings.SERVE_FILES:
    # One-machine deployments and the README's run command get uploads, processed videos and
    # the admin's static files from daphne itself; larger ones put nginx or a CDN in front.
    for url, root in (
        (settings.MEDIA_URL, settings.MEDIA_ROOT),
        (settings.STATIC_URL, settings.STATIC_ROOT),
    ):
        if not url.startswith(("http://", "https://")):
            urlpatterns.append(
                re_path(rf"^{url.strip('/')}/(?P<path>.*)$", serve, {"document_root": root})
            )
    # The browser example client, from the origin of the API it logs in to (no CORS needed);
    # its folder's own address opens the page (static serving lists no folders).
    urlpatterns += [
        re_path(
            r"^examples/browser/?$",
            RedirectView.as_view(url="/examples/browser/index.html", query_string=True),
            name="examples-browser",
        ),
        re_path(
            r"^examples/browser/(?P<path>.+)$",
            serve,
            {"document_root": settings.BASE_DIR / "examples" / "browser"},
        ),
    ]

handler400 = "gleepost.errors.handler400"
handler403 = "gleepost.errors.handler403"
handler404 = "gleepost.errors.handler404"
handler500 = "gleepost.errors.handler500"
