"""Routes of /api/v1/ (namespace "api"): one per entry of views.ENDPOINTS, then the API's own
documents, then a JSON 404 for anything else below /api/v1/."""

from django.urls import URLPattern, URLResolver, path, re_path

from dashboard.api import pages
from dashboard.api.http import api_view
from dashboard.api.views import ENDPOINTS

app_name = "api"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", pages.index, name="index"),
    path("openapi.json", pages.openapi, name="openapi"),
    path("docs/", pages.docs, name="docs"),
    *(path(e.route, api_view(e.params, e.handler), name=e.name) for e in ENDPOINTS),
    re_path(r"^.*$", pages.not_found, name="not-found"),
]
