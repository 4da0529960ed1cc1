from datetime import date, timedelta
from decimal import Decimal
from typing import cast

from django import forms

from metrics.engine import add_months
from metrics.vocabulary import CUSTOMER_ATTRIBUTES, SCOPE_TYPES

from .renewals import ROLES, STATUS_LABELS


def default_range(today: date) -> tuple[date, date]:
    """This month and the next two."""
    first = today.replace(day=1)
    return first, add_months(first, 3) - timedelta(days=1)


class RenewalFilter(forms.Form):
    """The renewals view's filters; team and owner choices come from what the viewer may see."""

    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    role = forms.ChoiceField(label="Owner role", choices=[("csm", "CSM"), ("am", "AM")], required=False)
    team = forms.TypedChoiceField(label="Team", coerce=int, required=False, empty_value=None)
    owner = forms.TypedChoiceField(label="Owner", coerce=int, required=False, empty_value=None)
    status = forms.ChoiceField(label="Status", choices=[("", "any"), *STATUS_LABELS.items()], required=False)
    segment = forms.ChoiceField(label=SCOPE_TYPES["segment"], required=False)
    region = forms.ChoiceField(label=SCOPE_TYPES["region"], required=False)
    industry = forms.ChoiceField(label=SCOPE_TYPES["industry"], required=False)
    use_case = forms.ChoiceField(label=SCOPE_TYPES["use_case"], required=False)

    MAX_DAYS = 3 * 366

    def __init__(self, data, *, teams, owners, today: date, attribute_values: dict | None = None):
        """``attribute_values``: attribute -> the values the viewer's customers have (``renewals.attribute_values``)."""
        super().__init__(data)
        self.today = today
        for attr in CUSTOMER_ATTRIBUTES:
            values = (attribute_values or {}).get(attr, [])
            cast(forms.ChoiceField, self.fields[attr]).choices = [("", "any"), *((v, v) for v in values)]
        cast(forms.ChoiceField, self.fields["team"]).choices = [("", "every team"), *((t.pk, t.name) for t in teams)]
        cast(forms.ChoiceField, self.fields["owner"]).choices = [
            ("", "every owner"),
            *((u.pk, u.email) for u in owners),
        ]

    def clean(self):
        data = super().clean()
        default_start, default_end = default_range(self.today)
        data["start"] = data.get("start") or default_start
        data["end"] = data.get("end") or default_end
        data["role"] = data.get("role") if data.get("role") in ROLES else "csm"
        data["attributes"] = {attr: data[attr] for attr in CUSTOMER_ATTRIBUTES if data.get(attr)}
        if data["end"] < data["start"]:
            self.add_error("end", "The end of the range is before its start.")
        elif (data["end"] - data["start"]).days > self.MAX_DAYS:
            self.add_error("end", "Show at most three years at a time.")
        return data


class RiskMarkForm(forms.Form):
    status = forms.ChoiceField(label="Risk", choices=[])
    expected_loss = forms.DecimalField(
        label="Expected loss (ARR)", required=False, min_value=0, max_digits=16, decimal_places=2
    )
    noted_on = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, today: date, **kwargs):
        from .models import RiskStatus

        super().__init__(*args, **kwargs)
        self.today = today
        cast(forms.ChoiceField, self.fields["status"]).choices = RiskStatus.choices
        self.fields["noted_on"].initial = today

    def clean_noted_on(self):
        day = self.cleaned_data["noted_on"]
        if day > self.today:
            raise forms.ValidationError("The date cannot be in the future.")
        return day

    def clean(self):
        data = super().clean()
        status, loss = data.get("status"), data.get("expected_loss")
        if status == "at_risk" and not loss:
            self.add_error("expected_loss", "An account at risk needs the ARR expected to be lost (above zero).")
        if status == "healthy" and loss:
            self.add_error("expected_loss", "A healthy account has no expected loss; leave it empty.")
        if loss is None:
            data["expected_loss"] = 0
        return data


class TargetForm(forms.Form):
    """One target: rates typed as percentages (105 means 105%)."""

    fiscal_year = forms.IntegerField(label="Fiscal year", min_value=2000, max_value=2100)
    scope_type = forms.ChoiceField(
        label="For", choices=[("company", "the company"), ("team", "a team"), ("owner", "an owner")]
    )
    team: forms.ModelChoiceField = forms.ModelChoiceField(label="Team", queryset=None, required=False)
    owner: forms.ModelChoiceField = forms.ModelChoiceField(
        label="Owner", queryset=None, required=False, to_field_name="email"
    )
    role = forms.ChoiceField(label="Role", choices=[("", "—"), ("csm", "CSM"), ("am", "AM")], required=False)
    nrr = forms.DecimalField(
        label="NRR target (%)", required=False, min_value=Decimal("0.01"), max_value=999, decimal_places=2
    )
    grr = forms.DecimalField(
        label="GRR target (%)", required=False, min_value=Decimal("0.01"), max_value=100, decimal_places=2
    )

    def __init__(self, *args, **kwargs):
        from accounts.models import Team, User
        from metrics.models import Assignment

        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.order_by("name")
        self.fields["owner"].queryset = User.objects.filter(id__in=Assignment.objects.values("user_id")).order_by(
            "email"
        )
        self.fields["owner"].label_from_instance = lambda u: u.email

    def clean(self):
        data = super().clean()
        scope = data.get("scope_type")
        if scope == "company":
            data["team"], data["owner"], data["role"] = None, None, ""
        elif scope in ("team", "owner"):
            if not data.get("role"):
                self.add_error("role", f"A {scope} target is for one role: CSM or AM.")
            if scope == "team" and not data.get("team"):
                self.add_error("team", "Choose the team.")
            if scope == "owner" and not data.get("owner"):
                self.add_error("owner", "Choose the owner.")
            if scope == "team":
                data["owner"] = None
            else:
                data["team"] = None
        if data.get("nrr") is None and data.get("grr") is None:
            raise forms.ValidationError("Give an NRR target, a GRR target, or both.")
        return data

    def ratios(self) -> dict:
        return {
            name: None
            if self.cleaned_data.get(name) is None
            else (self.cleaned_data[name] / 100).quantize(Decimal("0.0001"))
            for name in ("nrr", "grr")
        }


class TargetUploadForm(forms.Form):
    file = forms.FileField(label="targets.csv")


class DigestPreferenceForm(forms.Form):
    weekly_digest = forms.BooleanField(label="Send me the weekly digest email", required=False)
