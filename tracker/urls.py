from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("alerts/", include("tracker.alerts.urls")),
    path("api/v1/", include("dashboard.api.urls")),
    path("", include("dashboard.urls")),
]
