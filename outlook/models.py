"""What lies ahead of the retention figures (SPEC section 8): risk marks on accounts.

A risk mark is never edited: every change is a new row, so the history of an account's marks is
the rows themselves, and its current mark is the latest one.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from metrics.models import MONEY, Customer


class RiskStatus(models.TextChoices):
    HEALTHY = "healthy", "Healthy"
    AT_RISK = "at_risk", "At risk"
    LIKELY_TO_CHURN = "likely_to_churn", "Likely to churn"


class RiskMark(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="risk_marks")
    status = models.CharField(max_length=16, choices=RiskStatus.choices)
    expected_loss = models.DecimalField(**MONEY, default=0, help_text="ARR expected to be lost.")
    note = models.TextField(blank=True)
    noted_on = models.DateField(help_text="The day the note speaks of.")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["customer", "-recorded_at", "-id"]
        indexes = [models.Index(fields=["customer", "-id"])]
        constraints = [models.CheckConstraint(condition=Q(expected_loss__gte=0), name="risk_expected_loss_not_negative")]

    def __str__(self):
        return f"{self.customer}: {self.get_status_display()} on {self.noted_on}"
