from django.apps import AppConfig


class OutlookConfig(AppConfig):
    name = "outlook"
    verbose_name = "Outlook: renewals, risk, targets, cohorts, digest"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The cohort heatmaps follow every landing of the figures, from the same frozen inputs.
        from metrics.recompute.writing import figures_landed

        from .tasks import queue_cohorts

        figures_landed.connect(lambda **kwargs: queue_cohorts(), weak=False, dispatch_uid="outlook-cohorts")
