"""Closed periods (SPEC section 9): the figures of a month, quarter or year as reported, kept
while the live figures go on being recomputed.

Closing copies aggregates only: every scope's ``RetentionSnapshot`` row of the period into
``ReportedFigure``, and the frozen inputs those figures were computed from (the Snapshot* rows
of the customers with revenue in the period) under a version of their own
(``CLOSED_VERSION_BASE + close id``), which no recompute touches. The accounts behind a
reported figure, and each customer's contribution at the close, are then answered on demand by
``metrics.recompute.accounts`` from that copy, exactly as for the live figures.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from metrics.models import MONEY
from metrics.rounding import ratio

# Frozen-input versions of closes; live versions count up from 1 and never get near it.
CLOSED_VERSION_BASE = 2_000_000_000
CLOSABLE = (("month", "Month"), ("quarter", "Quarter"), ("year", "Year"))


class PeriodClose(models.Model):
    """One close of one period; a reopened close stays, with who reopened it, when and why."""

    granularity = models.CharField(max_length=8, choices=CLOSABLE)
    period_start = models.DateField()
    period_end = models.DateField()
    as_of = models.DateField(help_text="The day the figures were measured on when the period was closed.")
    source_version = models.PositiveIntegerField(help_text="The live input version the figures were computed from.")
    input_version = models.PositiveIntegerField(null=True, blank=True, help_text="The copy of the inputs kept for this close.")
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    closed_at = models.DateTimeField()
    reopened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reopened_at = models.DateTimeField(null=True, blank=True)
    reopen_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-closed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["granularity", "period_start"], condition=Q(reopened_at__isnull=True), name="one_open_close_per_period"
            )
        ]

    def __str__(self):
        return f"{self.granularity} {self.period_start} closed {self.closed_at:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        """Still closed (not reopened)."""
        return self.reopened_at is None


class ReportedFigure(models.Model):
    """A RetentionSnapshot row of a closed period as it stood when the period was closed."""

    close = models.ForeignKey(PeriodClose, on_delete=models.CASCADE, related_name="figures")
    period_start = models.DateField()
    period_end = models.DateField()
    granularity = models.CharField(max_length=8)
    partial = models.BooleanField(default=False)
    scope_type = models.CharField(max_length=10)
    scope_key = models.CharField(max_length=254, blank=True)
    role = models.CharField(max_length=3, blank=True)
    starting_arr = models.DecimalField(**MONEY)
    expansion = models.DecimalField(**MONEY)
    upsell = models.DecimalField(**MONEY)
    cross_sell = models.DecimalField(**MONEY)
    contraction = models.DecimalField(**MONEY)
    churn = models.DecimalField(**MONEY)
    ending_arr = models.DecimalField(**MONEY)
    nrr = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    grr = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    logos_start = models.PositiveIntegerField()
    logos_churned = models.PositiveIntegerField()
    new_arr = models.DecimalField(**MONEY, null=True, blank=True)
    reactivation_arr = models.DecimalField(**MONEY, null=True, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["close", "scope_type", "scope_key", "role"], name="reported_unique_scope")
        ]
        indexes = [models.Index(fields=["granularity", "period_start", "scope_type", "scope_key", "role"])]

    def __str__(self) -> str:
        return f"{self.granularity} {self.period_start} {self.scope_type} {self.scope_key} {self.role} as reported".replace("  ", " ")

    @property
    def logo_retention(self):
        """As ``RetentionSnapshot.logo_retention``: four decimals, half up."""
        return ratio(self.logos_start - self.logos_churned, self.logos_start)
