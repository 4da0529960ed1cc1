from django.apps import AppConfig


class MetricsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "metrics"

    def ready(self):
        from retention_site import database  # noqa: F401  (statement and lock timeouts on every connection)

        from . import signals  # noqa: F401
