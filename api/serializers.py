"""Serializers of the API. Every row is flat (no nesting), so JSON and CSV share their columns.

Related objects appear by their natural keys, as in the import files: a customer by its
``external_id``, a user by email, a team by name, a reason by code.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from functools import cached_property

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.fields import get_error_detail
from rest_framework.settings import api_settings

from accounts.models import Team, User
from metrics.export import RETENTION_COLUMNS, money, rate, retention_export_row
from metrics.models import (
    Assignment,
    ChurnCase,
    ChurnReason,
    ContractLine,
    Customer,
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
    partial = serializers.BooleanField(help_text="The current, unfinished period, measured on today.")
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

    def to_representation(self, instance):
        return retention_export_row(instance)


assert list(RetentionRowSerializer._declared_fields) == RETENTION_COLUMNS


class MovementRowSerializer(serializers.Serializer):
    """One customer (or customer and product) in one period, read from ``.values()`` rows."""

    period_start = serializers.DateField()
    period_end = serializers.DateField()
    granularity = serializers.ChoiceField(choices=Granularity.choices)
    partial = serializers.BooleanField()
    customer = serializers.CharField(source="customer__external_id", help_text="The customer's external_id.")
    customer_name = serializers.CharField(source="customer__name")
    product = serializers.CharField(help_text="Empty for the whole customer; set on the rows of the product scope.")
    starting_arr = MoneyField()
    ending_arr = MoneyField()
    cross_sell = MoneyField()
    movement = serializers.ChoiceField(choices=Movement.choices)
    csm_owner = serializers.EmailField(source="csm_owner__email", allow_null=True)
    csm_team = serializers.CharField(source="csm_team__name", allow_null=True)
    am_owner = serializers.EmailField(source="am_owner__email", allow_null=True)
    am_team = serializers.CharField(source="am_team__name", allow_null=True)
    segment = serializers.CharField()
    region = serializers.CharField()
    industry = serializers.CharField()
    use_case = serializers.CharField()
    tenure_band = serializers.CharField()

    @classmethod
    def value_names(cls) -> list[str]:
        """The ``.values()`` names the rows are read from, in column order."""
        return [field.source or name for name, field in cls._declared_fields.items()]

    @cached_property
    def _formats(self) -> list[tuple[str, str, Callable]]:
        def formatter(field):
            if isinstance(field, serializers.DecimalField):
                return field.to_representation
            if isinstance(field, serializers.DateField):
                return date.isoformat
            return lambda value: value  # strings and booleans come from the database as they are shown

        return [(name, field.source, formatter(field)) for name, field in self.fields.items()]

    def to_representation(self, row):
        # Plain formatting of a ``.values()`` row: DRF's per-field machinery costs several times
        # more, and this endpoint exports every movement row.
        return {name: None if (value := row[source]) is None else fmt(value) for name, source, fmt in self._formats}


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


class ContractLineSerializer(ModelCleanMixin, serializers.ModelSerializer):
    customer = customer_key()
    arr = MoneyField(help_text="Annualized recurring revenue, not negative.")

    class Meta:
        model = ContractLine
        fields = ["id", "external_id", "customer", "product", "start_date", "end_date", "arr", "currency"]


class AssignmentSerializer(ModelCleanMixin, serializers.ModelSerializer):
    customer = customer_key()
    user = EmailKeyField(queryset=User.objects.all(), help_text="The owner's email.")
    unfielded_errors_field = "start_date"

    class Meta:
        model = Assignment
        fields = ["id", "customer", "user", "role", "start_date", "end_date"]
        validators = []  # the same start twice is an overlap: the model's clean() says so, in its words


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
    label = serializers.CharField(help_text="The primary reason's label, or 'no reason recorded'.")
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
