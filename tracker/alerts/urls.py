"""Routes under /alerts/ (namespace "alerts")."""

from django.urls import URLPattern, URLResolver, path

from tracker.alerts import feeds, views

app_name = "alerts"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.subscribe, name="subscribe"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("manage/", views.manage_request, name="manage_request"),
    path("manage/<str:token>/", views.manage, name="manage"),
    path("manage/<str:token>/rules/<int:rule_id>/", views.rule_edit, name="rule_edit"),
    path(
        "manage/<str:token>/rules/<int:rule_id>/<slug:action>/",
        views.rule_action,
        name="rule_action",
    ),
    path(
        "manage/<str:token>/webhooks/<int:endpoint_id>/enable/",
        views.webhook_enable,
        name="webhook_enable",
    ),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("feed/<str:feed_token>.atom", feeds.rule_feed, name="feed"),
]
