"""Recording churn reasons on a case: validation and saving, shared by the pages and the API.

``ReasonForm(data, case=case)`` validates (reasons by their ``code``), for the case page and the
API alike; ``record_reasons`` is the one write: the reasons, notes, who and when in one
transaction (the case row locked), and django-simple-history keeps the edit with its user.
"""

from __future__ import annotations

from typing import cast

from django import forms
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .models import ChurnCase, ChurnReason

REASON_FIELDS = ("primary_reason", "secondary_reason_1", "secondary_reason_2")
FIELD_NAMES = {
    "primary_reason": "the primary reason",
    "secondary_reason_1": "the first secondary reason",
    "secondary_reason_2": "the second secondary reason",
}
MESSAGES = {
    "primary_required": "Choose a primary reason.",
    "not_offered": "That reason is not offered: it is unknown or no longer active.",
    "second_before_first": "Give the first secondary reason before the second.",
    "repeated": "“{label}” is already {field}: a reason can be given only once per case.",
}


class ReasonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, reason):
        name = reason.label
        if reason.get_category_display().casefold() != name.casefold():
            name = f"{name} · {reason.get_category_display()}"
        return name if reason.active else f"{name} (inactive)"


def offered_reasons(case: ChurnCase | None = None):
    """Active reasons, plus any inactive one the case already has (so an edit can keep it)."""
    condition = Q(active=True)
    if case is not None:
        kept = [getattr(case, f"{name}_id") for name in REASON_FIELDS if getattr(case, f"{name}_id")]
        condition |= Q(pk__in=kept)
    return ChurnReason.objects.filter(condition).order_by("category", "label")


def reason_field(**options) -> ReasonChoiceField:
    """A reason chosen by its code among ``offered_reasons`` (set per case by the form)."""
    messages = {"invalid_choice": MESSAGES["not_offered"], **options.pop("error_messages", {})}
    return ReasonChoiceField(
        queryset=ChurnReason.objects.none(), to_field_name="code", error_messages=messages, **options
    )


class ReasonForm(forms.Form):
    primary_reason = reason_field(error_messages={"required": MESSAGES["primary_required"]})
    secondary_reason_1 = reason_field(required=False, label="Secondary reason 1")
    secondary_reason_2 = reason_field(required=False, label="Secondary reason 2")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, data=None, *, case: ChurnCase, **kwargs):
        self.case = case
        initial = {name: getattr(getattr(case, name), "code", None) for name in REASON_FIELDS}
        initial["notes"] = case.notes
        super().__init__(data, initial=initial, **kwargs)
        reasons = offered_reasons(case)
        for name in REASON_FIELDS:
            cast(forms.ModelChoiceField, self.fields[name]).queryset = reasons

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned  # a reason field already failed; comparing the rest would mislead
        if cleaned.get("secondary_reason_2") and not cleaned.get("secondary_reason_1"):
            self.add_error("secondary_reason_2", MESSAGES["second_before_first"])
        seen = {}
        for name in REASON_FIELDS:
            reason = cleaned.get(name)
            if reason is None:
                continue
            if reason.pk in seen:
                self.add_error(
                    name, MESSAGES["repeated"].format(label=reason.label, field=FIELD_NAMES[seen[reason.pk]])
                )
            else:
                seen[reason.pk] = name
        return cleaned

    def save(self, user) -> ChurnCase:
        """Write the validated reasons (``record_reasons``)."""
        if not self.is_valid():
            raise ValueError("save() needs a valid form.")
        reasons = {name: self.cleaned_data[name] for name in REASON_FIELDS}
        self.case = record_reasons(self.case, user, reasons, self.cleaned_data["notes"])
        return self.case


def record_reasons(case: ChurnCase, user, reasons: dict[str, ChurnReason | None], notes: str) -> ChurnCase:
    """Write a case's reasons and notes (validated by ``ReasonForm``); the whole edit lands or
    none of it does."""
    with transaction.atomic():
        # Lock the row so a concurrent recompute or edit cannot interleave with this one.
        case = ChurnCase.objects.select_for_update().get(pk=case.pk)
        for name in REASON_FIELDS:
            setattr(case, name, reasons[name])
        case.notes = notes
        case.recorded_by = user
        case.recorded_at = timezone.now()
        case._history_user = user  # the history row names the user, with or without a request
        case.save(update_fields=[*REASON_FIELDS, "notes", "recorded_by", "recorded_at"])
    return case
