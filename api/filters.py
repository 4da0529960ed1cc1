"""Query filters of the API. A malformed value is a 400 naming the parameter, never a 500."""

from __future__ import annotations

import django_filters as filters
from django import forms
from django.db import models
from django.db.models import Q
from rest_framework.exceptions import ValidationError

from accounts.models import Role, Team, TeamFunction, User
from metrics.models import (
    AccountMovement,
    Assignment,
    AssignmentRole,
    CaseKind,
    ChurnCase,
    ChurnReason,
    ContractLine,
    Customer,
    Granularity,
    Movement,
    ReasonCategory,
    RetentionSnapshot,
    ScopeType,
)
from metrics.queries import UNASSIGNED, Scope

ISO_DATE = {"input_formats": ["%Y-%m-%d"], "error_messages": {"invalid": "Enter a valid date as YYYY-MM-DD."}}
SCOPE_ROLES = [("csm", "csm"), ("am", "am")]


class StrictBooleanField(forms.NullBooleanField):
    """true/false (or 1/0); anything else is an error, not silently "no filter"."""

    widget = forms.TextInput  # hands over the raw text, which the default select widget would drop

    def to_python(self, value):
        if value in (None, ""):
            return None
        if value in (True, "true", "True", "1"):
            return True
        if value in (False, "false", "False", "0"):
            return False
        raise forms.ValidationError("Use true or false.", code="invalid")


class StrictBooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanField


class ApiFilterSet(filters.FilterSet):
    FILTER_DEFAULTS = {**filters.FilterSet.FILTER_DEFAULTS, models.BooleanField: {"filter_class": StrictBooleanFilter}}


def iso_date(field_name: str, lookup_expr: str = "exact", help_text: str = "") -> filters.DateFilter:
    return filters.DateFilter(field_name=field_name, lookup_expr=lookup_expr, help_text=help_text, **ISO_DATE)


def running_on(queryset, name, value):
    """Rows whose span (end inclusive, empty = open) covers the day."""
    return queryset.filter(Q(end_date__isnull=True) | Q(end_date__gte=value), start_date__lte=value)


class RetentionFilter(ApiFilterSet):
    granularity = filters.ChoiceFilter(choices=Granularity.choices)
    scope_type = filters.ChoiceFilter(choices=ScopeType.choices)
    scope_key = filters.CharFilter()
    role = filters.ChoiceFilter(choices=SCOPE_ROLES)

    class Meta:
        model = RetentionSnapshot
        fields = ["granularity", "scope_type", "scope_key", "role", "partial"]


# "from" and "to" are Python keywords, so they are added by name.
RetentionFilter.base_filters["from"] = iso_date("period_start", "gte", "Periods starting on or after this day.")
RetentionFilter.base_filters["to"] = iso_date("period_start", "lte", "Periods starting on or before this day.")


class MovementFilter(ApiFilterSet):
    """The accounts behind a retention row: give the row's granularity, period_start, scope_type,
    scope_key and role; the rows listed add up to the row's figures."""

    granularity = filters.ChoiceFilter(choices=Granularity.choices)
    period_start = iso_date("period_start")
    scope_type = filters.ChoiceFilter(choices=ScopeType.choices, method="by_scope")
    scope_key = filters.CharFilter(method="by_scope", help_text="With scope_type; the retention row's scope_key.")
    role = filters.ChoiceFilter(choices=SCOPE_ROLES, method="by_scope", help_text="With team and owner scopes.")
    customer = filters.CharFilter(field_name="customer__external_id", help_text="The customer's external_id.")
    movement = filters.MultipleChoiceFilter(choices=Movement.choices)
    product = filters.CharFilter()
    csm_owner = filters.CharFilter(field_name="csm_owner__email", lookup_expr="iexact")
    am_owner = filters.CharFilter(field_name="am_owner__email", lookup_expr="iexact")
    csm_team = filters.CharFilter(field_name="csm_team__name")
    am_team = filters.CharFilter(field_name="am_team__name")
    segment = filters.CharFilter()
    region = filters.CharFilter()
    industry = filters.CharFilter()
    use_case = filters.CharFilter()
    tenure_band = filters.CharFilter()

    class Meta:
        model = AccountMovement
        fields = ["partial"]

    def by_scope(self, queryset, name, value):
        return queryset  # the three scope parameters act together, in filter_queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        scope_type, key, role = data.get("scope_type"), data.get("scope_key"), data.get("role")
        if not scope_type:
            if key:
                raise ValidationError({"scope_key": ["Give scope_type with scope_key."]})
            return queryset
        scope = scope_from_row(scope_type, key or "", role or "")
        if scope is None:
            return queryset.none()
        queryset = queryset.filter(scope.movement_filter)
        if scope_type != "company":
            # Only the company's ARR bridge counts new and reactivated accounts; every other
            # scope's figures are those of its cohort (starting ARR above zero).
            queryset = queryset.filter(starting_arr__gt=0)
        return queryset


def scope_from_row(scope_type: str, key: str, role: str) -> Scope | None:
    """The Scope of a retention row's (scope_type, scope_key, role); None when no such team or owner."""
    if scope_type in ("team", "owner"):
        if not role:
            raise ValidationError({"role": [f"Give role (csm or am) with scope_type={scope_type}."]})
        if key == UNASSIGNED:
            return Scope(scope_type, UNASSIGNED, role)
        model, field = (Team, "name") if scope_type == "team" else (User, "email__iexact")
        found = model.objects.filter(**{field: key}).first()
        if found is None:
            return None
        return Scope.team(found, role) if scope_type == "team" else Scope.owner(found, role)
    if scope_type == "company":
        return Scope.company()
    if not key:
        raise ValidationError({"scope_key": [f"Give scope_key with scope_type={scope_type}."]})
    return Scope(scope_type, key)


class CustomerFilter(ApiFilterSet):
    name = filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Customer
        fields = ["external_id", "name", "segment", "region", "industry", "use_case"]


class ContractLineFilter(ApiFilterSet):
    customer = filters.CharFilter(field_name="customer__external_id", help_text="The customer's external_id.")
    active_on = filters.DateFilter(method=running_on, help_text="Lines running on this day.", **ISO_DATE)

    class Meta:
        model = ContractLine
        fields = ["external_id", "customer", "product", "currency"]


class AssignmentFilter(ApiFilterSet):
    customer = filters.CharFilter(field_name="customer__external_id", help_text="The customer's external_id.")
    user = filters.CharFilter(field_name="user__email", lookup_expr="iexact", help_text="The owner's email.")
    role = filters.ChoiceFilter(choices=AssignmentRole.choices)
    active_on = filters.DateFilter(method=running_on, help_text="Assignments held on this day.", **ISO_DATE)

    class Meta:
        model = Assignment
        fields = ["customer", "user", "role"]


class TeamFilter(ApiFilterSet):
    function = filters.ChoiceFilter(choices=TeamFunction.choices)

    class Meta:
        model = Team
        fields = ["name", "function"]


class UserFilter(ApiFilterSet):
    email = filters.CharFilter(lookup_expr="iexact")
    role = filters.ChoiceFilter(choices=Role.choices)

    class Meta:
        model = User
        fields = ["email", "role", "is_active"]


class ChurnCaseFilter(ApiFilterSet):
    customer = filters.CharFilter(field_name="customer__external_id", help_text="The customer's external_id.")
    kind = filters.ChoiceFilter(choices=CaseKind.choices)
    primary_reason = filters.CharFilter(field_name="primary_reason__code")
    no_reason = StrictBooleanFilter(field_name="primary_reason", lookup_expr="isnull", help_text="Cases with no primary reason yet.")
    csm_owner = filters.CharFilter(field_name="csm_owner__email", lookup_expr="iexact")
    am_owner = filters.CharFilter(field_name="am_owner__email", lookup_expr="iexact")
    csm_team = filters.CharFilter(field_name="csm_team__name")
    am_team = filters.CharFilter(field_name="am_team__name")
    segment = filters.CharFilter(field_name="customer__segment")

    class Meta:
        model = ChurnCase
        fields = ["customer", "kind", "void"]


ChurnCaseFilter.base_filters["from"] = iso_date("date", "gte", "Cases dated on or after this day.")
ChurnCaseFilter.base_filters["to"] = iso_date("date", "lte", "Cases dated on or before this day.")


class ReasonFilter(ApiFilterSet):
    category = filters.ChoiceFilter(choices=ReasonCategory.choices)

    class Meta:
        model = ChurnReason
        fields = ["code", "category", "active"]
