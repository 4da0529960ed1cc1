from django.apps import AppConfig


class ClosingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "closing"
    verbose_name = "Closed periods and restatements"
