"""Customers, contracts, ownership, churn cases and the precomputed retention snapshots.

The figures themselves are computed by ``metrics.engine`` (plain Python) and written here
only by ``metrics.recompute`` (run by Celery workers or ``manage.py recompute``).
"""

from decimal import Decimal
from typing import TypedDict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from accounts.models import User, overlapping_spans

from . import currency, vocabulary
from .engine import Rates
from .rounding import ratio


class _MoneyDigits(TypedDict):
    max_digits: int
    decimal_places: int


MONEY: _MoneyDigits = {"max_digits": 16, "decimal_places": 2}


def reporting_currency() -> str:
    """The default currency of a contract line (SPEC section 7: empty means the reporting one)."""
    return settings.REPORTING_CURRENCY


class Customer(models.Model):
    external_id = models.CharField(max_length=100, unique=True, help_text="The CRM id.")
    name = models.CharField(max_length=250)
    segment = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    use_case = models.CharField(max_length=100, blank=True)
    history = HistoricalRecords()  # who changed what and when: the restatement report reads it

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.external_id})"


class ContractLine(models.Model):
    """One recurring revenue line; end_date is the last day of service (inclusive), empty = open."""

    external_id = models.CharField(max_length=100, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="lines")
    product = models.CharField(max_length=100)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    arr = models.DecimalField(**MONEY, help_text="Annualized recurring revenue.")
    currency = models.CharField(
        max_length=3,
        default=reporting_currency,
        blank=True,
        help_text="ISO 4217 code; empty means the reporting currency.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["customer", "start_date", "external_id"]
        constraints = [
            models.CheckConstraint(condition=Q(arr__gte=0), name="contract_arr_not_negative"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="contract_end_not_before_start",
            ),
        ]

    def __str__(self):
        return f"{self.external_id}: {self.product} {self.arr}"

    def clean(self):
        if self.arr is not None and self.arr < 0:
            raise ValidationError({"arr": "ARR cannot be negative."})
        if self.end_date and self.start_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": "The end date is before the start date."})
        try:
            self.currency = currency.parse_code(self.currency) if self.currency else reporting_currency()
        except ValueError as error:
            raise ValidationError({"currency": str(error)}) from None
        if currency.needs_rate(self.currency) and not FxRate.objects.filter(currency=self.currency).exists():
            raise ValidationError({"currency": currency.missing_rate_error(self.currency)})


class FxRate(models.Model):
    """An exchange rate (SPEC section 7): one unit of ``currency`` is worth ``rate`` of the
    reporting currency from ``valid_from`` until the next rate of that currency; the earliest
    also stands for every day before it."""

    currency = models.CharField(max_length=3, help_text="ISO 4217 code, e.g. EUR.")
    valid_from = models.DateField()
    rate = models.DecimalField(max_digits=18, decimal_places=9, help_text="Reporting currency per unit.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["currency", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "valid_from"], name="fx_rate_unique_day"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="fx_rate_above_zero"),
        ]

    def __str__(self):
        return f"{self.currency} {self.rate} from {self.valid_from}"

    @classmethod
    def live_rates(cls) -> Rates:
        """The rates of the database for the engines (the frozen ones are loading's)."""
        return currency.rates_for_engine(cls.objects.values_list("currency", "valid_from", "rate"))

    def clean(self):
        errors = {}
        try:
            self.currency = currency.parse_code(self.currency or "")
            if self.currency == reporting_currency():
                errors["currency"] = f"{self.currency} is the reporting currency: its rate is 1 by definition."
        except ValueError as error:
            errors["currency"] = str(error)
        if self.rate is not None:
            try:
                currency.parse_rate(self.rate)
            except ValueError as error:
                errors["rate"] = str(error)
        if errors:
            raise ValidationError(errors)

    @staticmethod
    def last_of_a_currency_in_use(rate: "FxRate") -> bool:
        """Deleting this rate would leave contract lines in a currency with no rate at all."""
        others = FxRate.objects.filter(currency=rate.currency).exclude(pk=rate.pk)
        return not others.exists() and ContractLine.objects.filter(currency=rate.currency).exists()


class AssignmentRole(models.TextChoices):
    CSM = vocabulary.CSM, vocabulary.ROLE_NAMES[vocabulary.CSM]
    AM = vocabulary.AM, vocabulary.ROLE_NAMES[vocabulary.AM]


class Assignment(models.Model):
    """Who owns a customer in a role, dated (end inclusive); never overlapping per customer+role."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments")
    role = models.CharField(max_length=3, choices=AssignmentRole.choices)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["customer", "role", "start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="assignment_end_not_before_start",
            ),
            models.UniqueConstraint(fields=["customer", "role", "start_date"], name="assignment_unique_start"),
        ]
        # PostgreSQL also gets an exclusion constraint against overlaps (migration 0002).

    def __str__(self):
        return f"{self.customer} {self.role} {self.user} from {self.start_date}"

    def clean(self):
        if self.end_date and self.start_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": "The end date is before the start date."})
        if self.customer_id and self.role and self.start_date:
            others = Assignment.objects.filter(customer_id=self.customer_id, role=self.role)
            if overlapping_spans(others.exclude(pk=self.pk), self.start_date, self.end_date).exists():
                raise ValidationError(
                    f"This {self.role} assignment overlaps another {self.role} assignment of the same customer."
                )


class ReasonCategory(models.TextChoices):
    FIT = "fit", "Fit"
    FEATURES = "features", "Features"
    SUPPORT = "support", "Support"
    COST = "cost", "Cost"
    CHANGE_IN_NEEDS = "change_in_needs", "Change in needs"
    FINANCIAL_STRUGGLE = "financial_struggle", "Financial struggle"
    COMPETITOR = "competitor", "Competitor"
    CHAMPION_LEFT = "champion_left", "Champion left"
    OTHER = "other", "Other"


class ChurnReason(models.Model):
    code = models.SlugField(max_length=50, unique=True)
    label = models.CharField(max_length=120)
    category = models.CharField(max_length=32, choices=ReasonCategory.choices)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["category", "label"]

    def __str__(self):
        return self.label


class CaseKind(models.TextChoices):
    CHURN = vocabulary.CHURN, vocabulary.CASE_KINDS[vocabulary.CHURN]
    CONTRACTION = vocabulary.CONTRACTION, vocabulary.CASE_KINDS[vocabulary.CONTRACTION]


class ChurnCase(models.Model):
    """A day on which a customer's ARR fell: derived from contracts by the recompute.

    Reasons, notes and who recorded them are typed by people and survive re-derivation; a case
    whose drop vanished after a data correction is kept with ``void=True``.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="churn_cases")
    date = models.DateField(help_text="First day without the lost revenue.")
    kind = models.CharField(max_length=12, choices=CaseKind.choices)
    previous_arr = models.DecimalField(**MONEY)
    new_arr = models.DecimalField(**MONEY)
    lost_arr = models.DecimalField(**MONEY)
    # Owners assigned on the last day of the old revenue (date - 1), and their teams then.
    csm_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    csm_team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    am_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    am_team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    void = models.BooleanField(default=False)
    primary_reason = models.ForeignKey(
        ChurnReason, null=True, blank=True, on_delete=models.PROTECT, related_name="primary_cases"
    )
    secondary_reason_1 = models.ForeignKey(
        ChurnReason, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    secondary_reason_2 = models.ForeignKey(
        ChurnReason, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()
    _history_user: User  # set before a save for django-simple-history's row (metrics.reasons)

    class Meta:
        ordering = ["-date", "customer"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "date"], name="churn_case_unique_day"),
            models.CheckConstraint(condition=Q(lost_arr__gte=0), name="churn_case_lost_not_negative"),
        ]
        indexes = [models.Index(fields=["date"]), models.Index(fields=["void", "date"])]

    def __str__(self):
        return f"{self.kind} of {self.customer} on {self.date}"

    def clean(self):
        chosen = [r for r in (self.primary_reason_id, self.secondary_reason_1_id, self.secondary_reason_2_id) if r]
        if len(chosen) != len(set(chosen)):
            raise ValidationError("A reason can be given only once per case.")
        if (self.secondary_reason_1_id or self.secondary_reason_2_id) and not self.primary_reason_id:
            raise ValidationError({"primary_reason": "The primary reason is required."})
        if self.secondary_reason_2_id and not self.secondary_reason_1_id:
            raise ValidationError({"secondary_reason_2": "Give the second-ranked secondary reason after the first."})


class Granularity(models.TextChoices):
    MONTH = vocabulary.MONTH, vocabulary.GRANULARITIES[vocabulary.MONTH]
    QUARTER = vocabulary.QUARTER, vocabulary.GRANULARITIES[vocabulary.QUARTER]
    YEAR = vocabulary.YEAR, vocabulary.GRANULARITIES[vocabulary.YEAR]
    TTM = vocabulary.TTM, vocabulary.GRANULARITIES[vocabulary.TTM]


class ScopeType(models.TextChoices):
    COMPANY = vocabulary.COMPANY, vocabulary.SCOPE_TYPES[vocabulary.COMPANY]
    TEAM = vocabulary.TEAM, vocabulary.SCOPE_TYPES[vocabulary.TEAM]
    OWNER = vocabulary.OWNER, vocabulary.SCOPE_TYPES[vocabulary.OWNER]
    SEGMENT = vocabulary.SEGMENT, vocabulary.SCOPE_TYPES[vocabulary.SEGMENT]
    REGION = vocabulary.REGION, vocabulary.SCOPE_TYPES[vocabulary.REGION]
    INDUSTRY = vocabulary.INDUSTRY, vocabulary.SCOPE_TYPES[vocabulary.INDUSTRY]
    USE_CASE = vocabulary.USE_CASE, vocabulary.SCOPE_TYPES[vocabulary.USE_CASE]
    PRODUCT = vocabulary.PRODUCT, vocabulary.SCOPE_TYPES[vocabulary.PRODUCT]
    TENURE = vocabulary.TENURE, vocabulary.SCOPE_TYPES[vocabulary.TENURE]


class RetentionSnapshot(models.Model):
    """One row of SPEC section 5: the retention figures of one period and one scope."""

    period_start = models.DateField()
    period_end = models.DateField()
    granularity = models.CharField(max_length=8, choices=Granularity.choices)
    partial = models.BooleanField(default=False)
    scope_type = models.CharField(max_length=10, choices=ScopeType.choices)
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
        ordering = ["granularity", "period_start", "scope_type", "scope_key", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["granularity", "period_start", "scope_type", "scope_key", "role"],
                name="snapshot_unique_scope_period",
            )
        ]
        indexes = [models.Index(fields=["scope_type", "scope_key", "role", "granularity", "period_start"])]

    def __str__(self) -> str:
        return f"{self.granularity} {self.period_start} {self.scope_type} {self.scope_key} {self.role}".strip()

    @property
    def logo_retention(self) -> Decimal | None:
        """Share of the starting logos still paying: four decimals, half up, like NRR and GRR."""
        return ratio(self.logos_start - self.logos_churned, self.logos_start)


class Movement(models.TextChoices):
    NEW = vocabulary.NEW, vocabulary.MOVEMENTS[vocabulary.NEW]
    REACTIVATION = vocabulary.REACTIVATION, vocabulary.MOVEMENTS[vocabulary.REACTIVATION]
    EXPANSION = vocabulary.EXPANSION, vocabulary.MOVEMENTS[vocabulary.EXPANSION]
    CONTRACTION = vocabulary.CONTRACTION, vocabulary.MOVEMENTS[vocabulary.CONTRACTION]
    CHURN = vocabulary.CHURN, vocabulary.MOVEMENTS[vocabulary.CHURN]
    NONE = vocabulary.NO_CHANGE, vocabulary.MOVEMENTS[vocabulary.NO_CHANGE]


class RecomputeStatus(models.Model):
    """A single row telling pages when snapshots were computed, as of which day, and how long it took."""

    computed_at = models.DateTimeField(null=True, blank=True)
    full_computed_at = models.DateTimeField(null=True, blank=True)
    as_of = models.DateField(null=True, blank=True, help_text="The 'today' the snapshots were measured on.")
    last_duration_seconds = models.FloatField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # The Snapshot* input rows the current figures were computed from.
    input_version = models.PositiveIntegerField(default=0)
    # The first month the figures cover (the periods run from it to as_of); null: no revenue yet.
    first_month = models.DateField(null=True, blank=True)
    # Bumped by every recompute that changes figures: pages cache their data under it.
    generation = models.PositiveIntegerField(default=0)
    # A full recompute in flight (its shards run as separate tasks): the input version it builds.
    running_version = models.PositiveIntegerField(null=True, blank=True)
    running_since = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"figures as of {self.as_of}, input version {self.input_version}"

    @classmethod
    def get(cls):
        return cls.objects.get_or_create(pk=1)[0]

    @property
    def pending(self) -> bool:
        """A change was committed that the snapshots do not reflect yet."""
        return PendingRecompute.objects.exists()


class PendingRecompute(models.Model):
    """A committed change waiting for the workers: written in the same transaction as the change,
    so a trigger is never lost; a null customer means everything."""

    customer_id = models.BigIntegerField(null=True, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"pending recompute of customer {self.customer_id}" if self.customer_id else "pending full recompute"


# --- the inputs the snapshots were computed from ----------------------------------------------
# The recompute freezes customers, contract lines, assignments and memberships here (money as
# integer cents). Figures change only when a recompute moves these rows, so the accounts behind
# a figure are answered from them on demand and always add up to it, and an incremental
# recompute takes a customer's old contribution from them. ``version`` lets a full recompute
# build a new set while readers keep the current one (RecomputeStatus.input_version).


class SnapshotCustomer(models.Model):
    version = models.PositiveIntegerField()
    customer_id = models.BigIntegerField()
    segment = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    use_case = models.CharField(max_length=100, blank=True)

    class Meta:
        indexes = [models.Index(fields=["version", "customer_id"])]

    def __str__(self) -> str:
        return f"customer {self.customer_id} (input version {self.version})"


class SnapshotLine(models.Model):
    version = models.PositiveIntegerField()
    customer_id = models.BigIntegerField()
    product = models.CharField(max_length=100)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    arr_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["version", "customer_id"]),
            # The product scope's accounts (metrics.recompute.accounts): an index-only scan of one
            # product's lines, in customer order (PostgreSQL; elsewhere the columns are not included).
            models.Index(
                fields=["version", "product", "customer_id"],
                include=["start_date", "end_date", "arr_cents"],
                name="snapshotline_product_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"line of customer {self.customer_id} from {self.start_date} (input version {self.version})"


class SnapshotAssignment(models.Model):
    version = models.PositiveIntegerField()
    customer_id = models.BigIntegerField()
    user_id = models.BigIntegerField()
    role = models.CharField(max_length=3)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["version", "customer_id"]),
            models.Index(fields=["version", "role", "user_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.role} assignment of customer {self.customer_id} (input version {self.version})"


class SnapshotMembership(models.Model):
    version = models.PositiveIntegerField()
    user_id = models.BigIntegerField()
    team_id = models.BigIntegerField()
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["version", "user_id"]), models.Index(fields=["version", "team_id"])]

    def __str__(self) -> str:
        return f"membership of user {self.user_id} (input version {self.version})"


class SnapshotFxRate(models.Model):
    """The exchange rates an input version was computed with (rate in units of 10**-9)."""

    version = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    valid_from = models.DateField()
    rate_units = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["version", "currency"])]

    def __str__(self) -> str:
        return f"{self.currency} from {self.valid_from} (input version {self.version})"


class ShardResult(models.Model):
    """A full recompute's shard: its partial totals (``metrics.recompute.engine.BlockTotals``, a
    compressed ``.npz``), kept here rather than in the broker until the last step sums them."""

    version = models.PositiveIntegerField()
    first_customer_id = models.BigIntegerField()
    totals = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "first_customer_id"], name="shard_result_unique")]

    def __str__(self) -> str:
        return f"shard from customer {self.first_customer_id} of run {self.version}"
