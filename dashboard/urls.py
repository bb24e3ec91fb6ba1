"""The dashboard's routes, one module per area so that each grows on its own:
urls_story (home, frontier, capability, analogies, embeds), urls_explore (models, providers,
compare, changes, feeds, methodology), urls_data (downloads and releases)."""

from django.urls import path

from dashboard import exports, urls_data, urls_explore, urls_story, views

app_name = "dashboard"
urlpatterns = [
    path("", views.home, name="home"),
    path("export/spans.csv", exports.spans_csv, name="export-spans"),
    path("sources/", views.sources, name="sources"),
    path("sources/payload/<str:sha256>/", views.payload, name="payload"),
    *urls_story.urlpatterns,
    *urls_explore.urlpatterns,
    *urls_data.urlpatterns,
]
