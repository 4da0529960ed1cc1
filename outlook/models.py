"""What lies ahead of the retention figures (SPEC section 8): risk marks on accounts.

A risk mark is never edited: every change is a new row, so the history of an account's marks is
the rows themselves, and its current mark is the latest one.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from metrics.models import MONEY, Customer
from metrics.vocabulary import OWNER, TEAM


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


class TargetScope(models.TextChoices):
    COMPANY = "company", "Company"
    TEAM = "team", "Team"
    OWNER = "owner", "Owner"


class Target(models.Model):
    """A fiscal year's NRR and GRR target (ratios: 1.0500 is 105%) for the company, a team or an
    owner, per role for teams and owners. ``fiscal_year`` is the calendar year of the fiscal
    year's first day (FISCAL_YEAR_START_MONTH)."""

    fiscal_year = models.PositiveSmallIntegerField()
    scope_type = models.CharField(max_length=8, choices=TargetScope.choices)
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=3, blank=True)
    nrr = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    grr = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-fiscal_year", "scope_type", "team__name", "user__email", "role"]
        constraints = [
            models.UniqueConstraint(fields=["fiscal_year"], condition=Q(scope_type="company"), name="target_one_company_per_year"),
            models.UniqueConstraint(fields=["fiscal_year", "team", "role"], condition=Q(scope_type="team"), name="target_one_per_team_role_year"),
            models.UniqueConstraint(fields=["fiscal_year", "user", "role"], condition=Q(scope_type="owner"), name="target_one_per_owner_role_year"),
            models.CheckConstraint(
                condition=(Q(scope_type="company", team__isnull=True, user__isnull=True, role="")
                           | Q(scope_type="team", team__isnull=False, user__isnull=True, role__in=["csm", "am"])
                           | Q(scope_type="owner", team__isnull=True, user__isnull=False, role__in=["csm", "am"])),
                name="target_scope_consistent",
            ),  # fmt: skip
            models.CheckConstraint(condition=Q(nrr__isnull=False) | Q(grr__isnull=False), name="target_has_a_rate"),
        ]

    def __str__(self):
        return f"FY{self.fiscal_year} {self.scope_type} {self.scope_key} {self.role}".strip()

    @property
    def scope_key(self) -> str:
        """As the retention export names the scope: team name, owner email, or empty."""
        if self.scope_type == TEAM and self.team is not None:
            return self.team.name
        if self.scope_type == OWNER and self.user is not None:
            return self.user.email
        return ""


class CohortRow(models.Model):
    """One row of a cohort heatmap: the customers whose first revenue day is in the period starting
    ``cohort_start`` (a month or a quarter), for one scope, measured at the end of each period k
    since (``paying[k]`` customers with ARR, ``arr_cents[k]``), the current period on ``as_of``.
    One row per cohort, not per cell, keeps a recompute's writes small. Written only by the
    workers (outlook.cohort_snapshots), from the inputs the retention figures were computed from."""

    granularity = models.CharField(max_length=8)  # month or quarter
    scope_type = models.CharField(max_length=10)
    scope_key = models.CharField(max_length=254, blank=True)
    role = models.CharField(max_length=3, blank=True)
    cohort_start = models.DateField()
    as_of = models.DateField()
    customers = models.PositiveIntegerField()
    base_arr_cents = models.BigIntegerField(help_text="ARR at the end of the first period.")
    paying = models.JSONField()  # [k] -> customers paying at the end of period k
    arr_cents = models.JSONField()  # [k] -> ARR at the end of period k, integer cents

    class Meta:
        ordering = ["granularity", "scope_type", "scope_key", "role", "cohort_start"]
        indexes = [models.Index(fields=["granularity", "scope_type", "scope_key", "role", "cohort_start"])]

    def __str__(self) -> str:
        return f"{self.granularity} cohort {self.scope_type}"

    def cells(self):
        """(k, measured on, paying, ARR, revenue retention, logo retention) for every k."""
        from datetime import timedelta
        from decimal import ROUND_HALF_UP, Decimal

        from metrics.engine import add_months

        step = 1 if self.granularity == "month" else 3
        four = Decimal("0.0001")
        base = Decimal(self.base_arr_cents)
        for k, (paying, cents) in enumerate(zip(self.paying, self.arr_cents, strict=True)):
            end = min(add_months(self.cohort_start, step * (k + 1)) - timedelta(days=1), self.as_of)
            revenue = None if not base else (Decimal(cents) / base).quantize(four, rounding=ROUND_HALF_UP)
            logos = None if not self.customers else (Decimal(paying) / self.customers).quantize(four, rounding=ROUND_HALF_UP)
            yield k, end, paying, Decimal(cents).scaleb(-2), revenue, logos

    @property
    def base_arr(self):
        from decimal import Decimal

        return Decimal(self.base_arr_cents).scaleb(-2)


class CohortStatus(models.Model):
    """Which figures' generation the cohort cells were computed for, and what it cost."""

    generation = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    cells = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"cohorts of generation {self.generation}"

    @classmethod
    def get(cls):
        return cls.objects.get_or_create(pk=1)[0]


class DigestPreference(models.Model):
    """A user's choice about the weekly digest email (no row: it is sent)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_preference")
    weekly_digest = models.BooleanField(default=True)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"weekly digest {'on' if self.weekly_digest else 'off'} for user {self.user_id}"


class DigestSent(models.Model):
    """A digest sent to a user for a week: a second run of the same week sends nothing again."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    week_start = models.DateField(help_text="The Monday of the week the digest reports on.")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "week_start"], name="digest_once_per_week")]

    def __str__(self) -> str:
        return f"digest of {self.week_start} to user {self.user_id}"
