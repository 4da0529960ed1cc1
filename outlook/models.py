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

    @property
    def scope_key(self) -> str:
        """As the retention export names the scope: team name, owner email, or empty."""
        if self.scope_type == "team":
            return self.team.name
        if self.scope_type == "owner":
            return self.user.email
        return ""

    def __str__(self):
        return f"FY{self.fiscal_year} {self.scope_type} {self.scope_key} {self.role}".strip()
