"""Routes of the deflation story; each page also answers under /embed/ (framable). The home
page itself is routed in dashboard/urls.py; its embed is here."""

from django.urls import URLPattern, URLResolver, path

from dashboard import story, views
from dashboard.chartkit import page_paths

urlpatterns: list[URLPattern | URLResolver] = [
    path("embed/", views.home, {"embed": True}, name="home-embed"),
    *page_paths("frontier/", story.frontier_page, "frontier"),
    *page_paths("capability/", story.capability_page, "capability"),
    *page_paths("analogies/", story.analogies_page, "analogies"),
]
