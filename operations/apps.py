from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """The admins' pages: CSV import with a preview, customers, people and teams, books."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "operations"
