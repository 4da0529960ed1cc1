"""Serializers of the API. Every row is flat (no nesting), so JSON and CSV share their columns.

Related objects appear by their natural keys, as in the import files: a customer by its
``external_id``, a user by email, a team by name, a reason by code.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.fields import get_error_detail
from rest_framework.settings import api_settings

from accounts.models import Team, User
from metrics.export import RETENTION_COLUMNS, money, rate, retention_export_row
from metrics import currency
from metrics.models import (
    Assignment,
    ChurnCase,
    ChurnReason,
    ContractLine,
    Customer,
    FxRate,
    Granularity,
    Movement,
    ScopeType,
)


class MoneyField(serializers.DecimalField):
    """ARR amounts: a string with two decimals out, a decimal (never a float) in."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 16)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return money(value)


class RateField(serializers.DecimalField):
    def __init__(self, **kwargs):
        super().__init__(max_digits=12, decimal_places=4, allow_null=True, **kwargs)

    def to_representation(self, value):
        return rate(value)


class KeyField(serializers.SlugRelatedField):
    """A related object by a text key; a key with a NUL character is refused (PostgreSQL cannot
    even look it up)."""

    default_error_messages = {"null_characters": "Null characters are not allowed."}

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("null_characters")
        return super().to_internal_value(data)


class EmailKeyField(KeyField):
    """A user by email, ignoring case (emails are stored in lower case)."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="email", **kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(data.strip().lower() if isinstance(data, str) else data)


def customer_key(**kwargs):
    kwargs.setdefault("queryset", Customer.objects.all())
    return KeyField(
        slug_field="external_id",
        error_messages={"does_not_exist": "Unknown customer {slug_name} '{value}'."},
        **kwargs,
    )


class ModelCleanMixin:
    """Runs the model's own ``clean()`` so the API answers with the messages of the pages and import."""

    # Where clean()'s errors that name no field go (the import names start_date for an overlap).
    unfielded_errors_field = api_settings.NON_FIELD_ERRORS_KEY

    def validate(self, attrs):
        attrs = super().validate(attrs)
        candidate = copy.copy(self.instance) if self.instance is not None else self.Meta.model()
        for name, value in attrs.items():
            setattr(candidate, name, value)
        try:
            candidate.clean()
        except DjangoValidationError as error:
            detail = get_error_detail(error)
            raise serializers.ValidationError(
                detail if isinstance(detail, dict) else {self.unfielded_errors_field: detail}
            ) from None
        return attrs


# --- retention rows and the accounts behind them ------------------------------------------


class RetentionRowSerializer(serializers.Serializer):
    """SPEC section 5. The fields describe the schema; the values come from the shared formatter."""

    period_start = serializers.DateField()
    period_end = serializers.DateField(help_text="The period's calendar last day.")
    granularity = serializers.ChoiceField(choices=Granularity.choices)
    # DRF stubs: the metaclass moves declared fields off the class, BaseSerializer.partial stays a bool.
    partial = serializers.BooleanField(help_text="The current, unfinished period, measured on today.")  # type: ignore[assignment]
    scope_type = serializers.ChoiceField(choices=ScopeType.choices)
    scope_key = serializers.CharField(help_text="Team name, owner email or attribute value; empty for company.")
    role = serializers.CharField(help_text="csm or am for team and owner rows, empty otherwise.")
    starting_arr = MoneyField()
    expansion = MoneyField()
    upsell = MoneyField()
    cross_sell = MoneyField()
    contraction = MoneyField()
    churn = MoneyField()
    ending_arr = MoneyField()
    nrr = RateField(help_text="Empty (null) when the starting ARR is zero.")
    grr = RateField(help_text="Empty (null) when the starting ARR is zero.")
    logos_start = serializers.IntegerField()
    logos_churned = serializers.IntegerField()
    new_arr = MoneyField(allow_null=True, help_text="Company rows only.")
    reactivation_arr = MoneyField(allow_null=True, help_text="Company rows only.")
    closed = serializers.BooleanField(help_text="The period is closed: its figures were reported (SPEC section 9).")
    reported_starting_arr = MoneyField(allow_null=True, help_text="Closed periods only: the figure as reported.")
    reported_expansion = MoneyField(allow_null=True, help_text="Closed periods only.")
    reported_upsell = MoneyField(allow_null=True, help_text="Closed periods only.")
    reported_cross_sell = MoneyField(allow_null=True, help_text="Closed periods only.")
    reported_contraction = MoneyField(allow_null=True, help_text="Closed periods only.")
    reported_churn = MoneyField(allow_null=True, help_text="Closed periods only.")
    reported_ending_arr = MoneyField(allow_null=True, help_text="Closed periods only.")
    reported_nrr = RateField(help_text="Closed periods only; null when undefined or not closed.")
    reported_grr = RateField(help_text="Closed periods only; null when undefined or not closed.")
    reported_new_arr = MoneyField(allow_null=True, help_text="Closed periods, company rows only.")
    reported_reactivation_arr = MoneyField(allow_null=True, help_text="Closed periods, company rows only.")
    currency = serializers.CharField(help_text="The reporting currency (ISO 4217) every amount of the row is in.")

    def to_representation(self, instance):
        # One lookup of the closes per serializer (a page or a whole CSV), not per row.
        if not hasattr(self, "_closes"):
            from closing.reported import ReportedLookup

            self._closes = ReportedLookup()
        return retention_export_row(instance, self._closes)


assert list(RetentionRowSerializer._declared_fields) == RETENTION_COLUMNS


class MovementRowSerializer(serializers.Serializer):
    """One customer (or customer and product) in one period: an ``accounts.AccountRow``, its
    owners and teams by email and name from ``context["names"]`` (a ``Names``); null when none."""

    period_start = serializers.DateField()
    period_end = serializers.DateField(help_text="The period's calendar last day.")
    granularity = serializers.ChoiceField(choices=Granularity.choices)
    # DRF stubs: the metaclass moves declared fields off the class, BaseSerializer.partial stays a bool.
    partial = serializers.BooleanField(help_text="The current, unfinished period, measured on today.")  # type: ignore[assignment]
    customer = serializers.CharField(help_text="The customer's external_id.")
    customer_name = serializers.CharField()
    product = serializers.CharField(help_text="Empty for the whole customer; set on the rows of the product scope.")
    starting_arr = MoneyField()
    ending_arr = MoneyField()
    cross_sell = MoneyField()
    movement = serializers.ChoiceField(choices=Movement.choices)
    csm_owner = serializers.EmailField(allow_null=True, help_text="On the period's first day.")
    csm_team = serializers.CharField(allow_null=True, help_text="The CSM's team on the period's first day.")
    am_owner = serializers.EmailField(allow_null=True, help_text="On the period's first day.")
    am_team = serializers.CharField(allow_null=True, help_text="The account manager's team on the period's first day.")
    segment = serializers.CharField()
    region = serializers.CharField()
    industry = serializers.CharField()
    use_case = serializers.CharField()
    tenure_band = serializers.CharField()

    def to_representation(self, row):
        # Plain formatting: DRF's per-field machinery costs several times more, and this
        # endpoint exports every account row of a period.
        names = self.context["names"]
        return {
            "period_start": row.period_start.isoformat(),
            "period_end": row.period_end.isoformat(),
            "granularity": row.granularity,
            "partial": row.partial,
            "customer": row.external_id,
            "customer_name": row.customer_name,
            "product": row.product,
            "starting_arr": money(row.starting_arr),
            "ending_arr": money(row.ending_arr),
            "cross_sell": money(row.cross_sell),
            "movement": row.movement,
            "csm_owner": names.emails.get(row.csm_owner_id),
            "csm_team": names.teams.get(row.csm_team_id),
            "am_owner": names.emails.get(row.am_owner_id),
            "am_team": names.teams.get(row.am_team_id),
            "segment": row.segment,
            "region": row.region,
            "industry": row.industry,
            "use_case": row.use_case,
            "tenure_band": row.tenure_band,
        }


@dataclass(frozen=True)
class Names:
    """Owners' emails and teams' names by id, each read in one query."""

    emails: dict[int, str]
    teams: dict[int, str]

    @classmethod
    def of(cls, rows) -> Names:
        """The names the rows (one page) mention."""
        return cls(
            dict(User.objects.filter(id__in={i for r in rows for i in (r.csm_owner_id, r.am_owner_id) if i}).values_list("id", "email")),
            dict(Team.objects.filter(id__in={i for r in rows for i in (r.csm_team_id, r.am_team_id) if i}).values_list("id", "name")),
        )

    @classmethod
    def everyone(cls) -> Names:
        """Every name, for rows not yet read (a streamed CSV)."""
        return cls(dict(User.objects.values_list("id", "email")), dict(Team.objects.values_list("id", "name")))


# --- people and teams --------------------------------------------------------------------------


class TeamSerializer(serializers.ModelSerializer):
    lead = serializers.EmailField(source="lead.email", allow_null=True, read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "function", "lead"]


class UserSerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="current_team", allow_null=True, read_only=True, help_text="The team today.")

    class Meta:
        model = User
        fields = ["id", "email", "full_name", "role", "is_active", "team"]


# --- customers, contracts, ownership (admins write) -------------------------------------------


class CustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "external_id", "name", "segment", "region", "industry", "use_case"]


def currency_code(value: str) -> str:
    """ISO 4217, case-insensitive in, upper case out."""
    try:
        return currency.parse_code(value)
    except ValueError as error:
        raise serializers.ValidationError(str(error)) from None


class ContractLineSerializer(ModelCleanMixin, serializers.ModelSerializer):
    customer = customer_key()
    arr = MoneyField(help_text="Annualized recurring revenue, not negative.")
    currency = serializers.CharField(
        max_length=3, required=False, allow_blank=True,
        help_text="ISO 4217 code, any case; empty or left out: the reporting currency. A currency needs an exchange rate.",
    )  # fmt: skip

    class Meta:
        model = ContractLine
        fields = ["id", "external_id", "customer", "product", "start_date", "end_date", "arr", "currency"]

    def validate_currency(self, value):
        return currency_code(value) if value else currency.reporting_currency()


class RateValueField(serializers.DecimalField):
    """An exchange rate: a decimal string with at most 9 decimals, no trailing zeros out."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=18, decimal_places=9, **kwargs)

    def to_representation(self, value):
        text = format(value.normalize(), "f") if value is not None else None
        return text

    def to_internal_value(self, data):
        try:
            return currency.parse_rate(data)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from None


class FxRateSerializer(ModelCleanMixin, serializers.ModelSerializer):
    """SPEC section 7: one unit of ``currency`` is worth ``rate`` of the reporting currency from
    ``valid_from`` until the next rate of that currency (the earliest also before it)."""

    rate = RateValueField(help_text="Reporting currency per unit of the currency, above zero, up to 9 decimals.")
    reporting_currency = serializers.SerializerMethodField(help_text="The currency the rate converts into.")

    class Meta:
        model = FxRate
        fields = ["id", "currency", "valid_from", "rate", "reporting_currency"]
        validators: list = []  # one rate per currency and day: said in words below

    def get_reporting_currency(self, obj) -> str:
        return currency.reporting_currency()

    def validate_currency(self, value):
        return currency_code(value)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        code = attrs.get("currency", getattr(self.instance, "currency", None))
        day = attrs.get("valid_from", getattr(self.instance, "valid_from", None))
        others = FxRate.objects.filter(currency=code, valid_from=day)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise serializers.ValidationError({"valid_from": f"{code} already has a rate from {day}; change that one."})
        return attrs


class AssignmentSerializer(ModelCleanMixin, serializers.ModelSerializer):
    customer = customer_key()
    user = EmailKeyField(queryset=User.objects.all(), help_text="The owner's email.")
    unfielded_errors_field = "start_date"

    class Meta:
        model = Assignment
        fields = ["id", "customer", "user", "role", "start_date", "end_date"]
        # the same start twice is an overlap: the model's clean() says so, in its words
        validators: list[Callable[..., None]] = []


# --- churn cases and their reasons ---------------------------------------------------------


class ReasonSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChurnReason
        fields = ["id", "code", "label", "category", "active"]


class ChurnCaseSerializer(serializers.ModelSerializer):
    """A case with its reasons (by code); recording them goes through ReasonInputSerializer."""

    customer = serializers.CharField(source="customer.external_id", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    previous_arr = MoneyField(read_only=True)
    new_arr = MoneyField(read_only=True)
    lost_arr = MoneyField(read_only=True)
    csm_owner = serializers.EmailField(source="csm_owner.email", read_only=True, allow_null=True)
    csm_team = serializers.CharField(source="csm_team.name", read_only=True, allow_null=True)
    am_owner = serializers.EmailField(source="am_owner.email", read_only=True, allow_null=True)
    am_team = serializers.CharField(source="am_team.name", read_only=True, allow_null=True)
    primary_reason = serializers.CharField(source="primary_reason.code", read_only=True, allow_null=True)
    primary_category = serializers.CharField(source="primary_reason.category", read_only=True, allow_null=True)
    secondary_reason_1 = serializers.CharField(source="secondary_reason_1.code", read_only=True, allow_null=True)
    secondary_reason_2 = serializers.CharField(source="secondary_reason_2.code", read_only=True, allow_null=True)
    recorded_by = serializers.EmailField(source="recorded_by.email", read_only=True, allow_null=True)

    class Meta:
        model = ChurnCase
        fields = [
            "id", "customer", "customer_name", "date", "kind", "previous_arr", "new_arr", "lost_arr",
            "csm_owner", "csm_team", "am_owner", "am_team", "void",
            "primary_reason", "primary_category", "secondary_reason_1", "secondary_reason_2",
            "notes", "recorded_by", "recorded_at",
        ]  # fmt: skip
        read_only_fields = fields


class ReasonInputSerializer(serializers.Serializer):
    """The body that records reasons: codes from /reasons/, checked by the pages' own ReasonForm."""

    primary_reason = serializers.CharField(allow_null=True, allow_blank=True, help_text="Required: a reason code.")
    secondary_reason_1 = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    secondary_reason_2 = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)


# --- churn reason Pareto (rows from metrics.pareto) ----------------------------------------


class ParetoRowSerializer(serializers.Serializer):
    # DRF stubs: the metaclass moves declared fields off the class, Field.label stays a str.
    label = serializers.CharField(help_text="The primary reason's label, or 'no reason recorded'.")  # type: ignore[assignment]
    code = serializers.CharField(allow_null=True)
    has_reason = serializers.BooleanField()
    count = serializers.IntegerField()
    lost_arr = MoneyField()
    share = RateField(help_text="Of the measure the rows are ordered by (lost ARR or count).")
    cumulative_share = RateField()


class CoverageSerializer(serializers.Serializer):
    covered_arr = MoneyField(help_text="Lost ARR of the cases with a primary reason.")
    total_arr = MoneyField()
    covered_count = serializers.IntegerField()
    total_count = serializers.IntegerField()
    share = RateField(help_text="covered_arr / total_arr; null when nothing was lost.")
