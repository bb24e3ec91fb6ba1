from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "tracker.alerts"
    label = "alerts"
    verbose_name = "Price alerts"
    default_auto_field = "django.db.models.BigAutoField"
