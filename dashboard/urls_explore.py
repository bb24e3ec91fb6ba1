"""Routes of the exploration pages (dashboard/explore.py); chart pages also under /embed/."""

from django.urls import URLPattern, URLResolver, path

from dashboard import explore, feeds
from dashboard.chartkit import page_paths

urlpatterns: list[URLPattern | URLResolver] = [
    path("models/", explore.models, name="models"),
    *page_paths("models/<str:slug>/", explore.model, "model"),
    path("providers/", explore.providers, name="providers"),
    *page_paths("providers/<str:slug>/", explore.provider, "provider"),
    *page_paths("compare/", explore.compare, "compare"),
    path("changes/", explore.changes, name="changes"),
    path("changes.atom", feeds.changes_atom, name="changes-atom"),
    path("methodology/", explore.methodology, name="methodology"),
]
