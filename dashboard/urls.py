from django.urls import path

from dashboard import exports, views

app_name = "dashboard"
urlpatterns = [
    path("", views.home, name="home"),
    path("export/spans.csv", exports.spans_csv, name="export-spans"),
    path("sources/", views.sources, name="sources"),
    path("sources/payload/<str:sha256>/", views.payload, name="payload"),
]
