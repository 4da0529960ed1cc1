from datetime import date, timedelta

from django import forms

from metrics.engine import add_months

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

    MAX_DAYS = 3 * 366

    def __init__(self, data, *, teams, owners, today: date):
        super().__init__(data)
        self.today = today
        self.fields["team"].choices = [("", "every team"), *((t.pk, t.name) for t in teams)]
        self.fields["owner"].choices = [("", "every owner"), *((u.pk, u.email) for u in owners)]

    def clean(self):
        data = super().clean()
        default_start, default_end = default_range(self.today)
        data["start"] = data.get("start") or default_start
        data["end"] = data.get("end") or default_end
        data["role"] = data.get("role") if data.get("role") in ROLES else "csm"
        if data["end"] < data["start"]:
            self.add_error("end", "The end of the range is before its start.")
        elif (data["end"] - data["start"]).days > self.MAX_DAYS:
            self.add_error("end", "Show at most three years at a time.")
        return data


class RiskMarkForm(forms.Form):
    status = forms.ChoiceField(label="Risk", choices=[])
    expected_loss = forms.DecimalField(label="Expected loss (ARR)", required=False, min_value=0, max_digits=16, decimal_places=2)
    noted_on = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, today: date, **kwargs):
        from .models import RiskStatus

        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["status"].choices = RiskStatus.choices
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
