"""Serializers of the API. Every row is flat (no nesting), so JSON and CSV share their columns.

Related objects appear by their natural keys, as in the import files: a customer by its
``external_id``, a user by email, a team by name, a reason by code.
"""

from __future__ import annotations

import copy

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.fields import get_error_detail

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


class EmailKeyField(serializers.SlugRelatedField):
    """A user by email, ignoring case (emails are stored in lower case)."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="email", **kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(data.strip().lower() if isinstance(data, str) else data)


def customer_key(**kwargs):
    kwargs.setdefault("queryset", Customer.objects.all())
    return serializers.SlugRelatedField(
        slug_field="external_id",
        error_messages={"does_not_exist": "Unknown customer {slug_name} '{value}'."},
        **kwargs,
    )


class ModelCleanMixin:
    """Runs the model's own ``clean()`` so the API answers with the messages of the pages and import."""

    def validate(self, attrs):
        attrs = super().validate(attrs)
        candidate = copy.copy(self.instance) if self.instance is not None else self.Meta.model()
        for name, value in attrs.items():
            setattr(candidate, name, value)
        try:
            candidate.clean()
        except DjangoValidationError as error:
            raise serializers.ValidationError(get_error_detail(error)) from None
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

    class Meta:
        model = Assignment
        fields = ["id", "customer", "user", "role", "start_date", "end_date"]


# --- churn cases and their reasons ---------------------------------------------------------


class ReasonSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChurnReason
        fields = ["id", "code", "label", "category", "active"]


def reason_key(**kwargs):
    return serializers.SlugRelatedField(
        slug_field="code",
        queryset=ChurnReason.objects.filter(active=True),
        allow_null=True,
        required=False,
        error_messages={"does_not_exist": "Unknown or inactive reason '{value}'."},
        **kwargs,
    )


class ChurnCaseSerializer(ModelCleanMixin, serializers.ModelSerializer):
    """A case with its reasons; only the reasons and notes are writable (admins and leads)."""

    customer = serializers.CharField(source="customer.external_id", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    previous_arr = MoneyField(read_only=True)
    new_arr = MoneyField(read_only=True)
    lost_arr = MoneyField(read_only=True)
    csm_owner = serializers.EmailField(source="csm_owner.email", read_only=True, allow_null=True)
    csm_team = serializers.CharField(source="csm_team.name", read_only=True, allow_null=True)
    am_owner = serializers.EmailField(source="am_owner.email", read_only=True, allow_null=True)
    am_team = serializers.CharField(source="am_team.name", read_only=True, allow_null=True)
    primary_reason = reason_key()
    primary_category = serializers.CharField(source="primary_reason.category", read_only=True, allow_null=True)
    secondary_reason_1 = reason_key()
    secondary_reason_2 = reason_key()
    recorded_by = serializers.EmailField(source="recorded_by.email", read_only=True, allow_null=True)

    class Meta:
        model = ChurnCase
        fields = [
            "id", "customer", "customer_name", "date", "kind", "previous_arr", "new_arr", "lost_arr",
            "csm_owner", "csm_team", "am_owner", "am_team", "void",
            "primary_reason", "primary_category", "secondary_reason_1", "secondary_reason_2",
            "notes", "recorded_by", "recorded_at",
        ]  # fmt: skip
        read_only_fields = ["date", "kind", "void", "recorded_at"]
