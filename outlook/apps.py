from django.apps import AppConfig


class OutlookConfig(AppConfig):
    name = "outlook"
    verbose_name = "Outlook: renewals, risk, targets, cohorts, digest"
    default_auto_field = "django.db.models.BigAutoField"
