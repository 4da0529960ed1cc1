"""The period a page or a drill-down asks for, parsed by one form with one rule for a bad value:
a granularity that is not one of the choices, or a period that is not an ISO date, counts as not
given. A page then shows its default period; a drill-down, which names one figure, answers 404."""

from __future__ import annotations

from datetime import date

from django import forms
from django.http import Http404

from metrics.models import Granularity


class PeriodForm(forms.Form):
    granularity = forms.ChoiceField(choices=Granularity.choices, required=False)
    period = forms.DateField(input_formats=["%Y-%m-%d"], required=False)

    def __init__(self, params):
        super().__init__({"granularity": params.get("granularity", ""), "period": params.get("period", "")})
        self.is_valid()

    def asked(self) -> tuple[str | None, date | None]:
        """(granularity, period start), each None when it was missing or bad."""
        return self._value("granularity"), self._value("period")

    def _value(self, name: str):
        return None if name in self.errors else self.cleaned_data.get(name) or None


def required_period(params) -> tuple[str, date]:
    """A drill-down's granularity and period start, or 404."""
    granularity, period = PeriodForm(params).asked()
    if granularity is None:
        raise Http404("Unknown granularity.")
    if period is None:
        raise Http404("The period must be an ISO date (YYYY-MM-DD).")
    return granularity, period
