"""Exchange rates (SPEC section 7): admins list, add, change and delete them in the browser.

Every change is a model save or delete, so the signal queues a full recompute (every figure
converts with the rates) in the same transaction, and the rate's history keeps who changed what.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from metrics import currency
from metrics.models import ContractLine, FxRate
from metrics.scoping import visibility


def _admin(request) -> None:
    if not visibility(request).is_admin:
        raise PermissionDenied("Only admins manage exchange rates.")


class FxRateForm(forms.ModelForm):
    class Meta:
        model = FxRate
        fields = ["currency", "valid_from", "rate"]
        widgets = {
            "valid_from": forms.DateInput(attrs={"type": "date"}),
            "rate": forms.TextInput(attrs={"inputmode": "decimal"}),
        }
        help_texts = {
            "currency": "ISO 4217 code, e.g. EUR (any case).",
            "valid_from": "In force from this day until the currency's next rate.",
            "rate": "Reporting currency per unit, above zero, up to 9 decimals.",
        }

    def clean_currency(self):
        try:
            return currency.parse_code(self.cleaned_data["currency"])
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None

    def validate_unique(self):
        # One rate per currency and day, said in words (the constraint's own message names fields).
        code, day = self.cleaned_data.get("currency"), self.cleaned_data.get("valid_from")
        if code and day and FxRate.objects.filter(currency=code, valid_from=day).exclude(pk=self.instance.pk).exists():
            self.add_error("valid_from", f"{code} already has a rate from {day}; change that one.")


@login_required
def rate_list(request):
    _admin(request)
    rates = list(FxRate.objects.order_by("currency", "-valid_from"))
    in_use = set(
        ContractLine.objects.exclude(currency__in=["", settings.REPORTING_CURRENCY])
        .values_list("currency", flat=True)
        .distinct()
    )
    counts = {}
    for rate in rates:
        counts[rate.currency] = counts.get(rate.currency, 0) + 1
    missing = sorted(in_use - set(counts))
    rows = [
        (rate, currency.name(rate.currency), rate.currency in in_use and counts[rate.currency] == 1) for rate in rates
    ]
    return render(
        request,
        "web/rates.html",
        {
            "rows": rows,
            "reporting": settings.REPORTING_CURRENCY,
            "reporting_name": currency.name(settings.REPORTING_CURRENCY),
            "missing": missing,
            "form": FxRateForm(),
        },
    )


@login_required
def rate_edit(request, pk=None):
    _admin(request)
    rate = get_object_or_404(FxRate, pk=pk) if pk else None
    form = FxRateForm(request.POST or None, instance=rate)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(
            request,
            f"{saved.currency} {saved.rate.normalize():f} from {saved.valid_from} saved: the figures are being recomputed.",
        )
        return redirect("fx-rates")
    return render(request, "web/rate_form.html", {"form": form, "rate": rate, "reporting": settings.REPORTING_CURRENCY})


@login_required
@require_POST
def rate_delete(request, pk):
    _admin(request)
    with transaction.atomic():
        rate = get_object_or_404(FxRate.objects.select_for_update(), pk=pk)
        if FxRate.last_of_a_currency_in_use(rate):
            messages.error(
                request, f"Contract lines are in {rate.currency}: its last rate cannot be deleted (change it instead)."
            )
        else:
            rate.delete()
            messages.success(
                request,
                f"The {rate.currency} rate from {rate.valid_from} is deleted: the figures are being recomputed.",
            )
    return redirect("fx-rates")
