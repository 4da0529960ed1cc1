"""Forms of the reason pages: the case filters (Pareto and case list) and the taxonomy editor.

The reason-recording form itself lives in ``metrics.reasons`` so the API shares its messages.
"""

from django import forms
from django.db.models import Q

from accounts.models import Team, User
from metrics.models import ChurnReason
from metrics.pareto import NO_REASON_LABEL, ORDER_BY_COUNT, ORDER_BY_LOST_ARR, filter_cases
from metrics.vocabulary import ROLE_LABELS, UNKNOWN

UNKNOWN_SEGMENT = UNKNOWN  # how an empty segment is shown and chosen (SPEC section 3)


class OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return user.display_name


class CaseFilterForm(forms.Form):
    """Filters over the viewer's visible cases; choices offer only what the viewer may see."""

    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    team: "forms.ModelChoiceField[Team]" = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="All teams"
    )
    owner = OwnerChoiceField(queryset=None, required=False, empty_label="All owners")
    role = forms.ChoiceField(required=False, label="As", choices=[("", "CSM or AM"), *ROLE_LABELS.items()])
    segment = forms.ChoiceField(required=False)
    order = forms.ChoiceField(
        required=False,
        label="Measure",
        choices=[(ORDER_BY_LOST_ARR, "Lost ARR"), (ORDER_BY_COUNT, "Case count")],
    )
    # Set by the links of a Pareto row, not shown as fields.
    reason = forms.SlugField(required=False, widget=forms.HiddenInput)
    no_reason = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, data, *, visibility, visible_cases):
        super().__init__(data)
        self.fields["team"].queryset = visibility.teams()
        owner_ids = Q(id__in=visible_cases.values("csm_owner_id")) | Q(id__in=visible_cases.values("am_owner_id"))
        self.fields["owner"].queryset = visibility.users(User.objects.filter(owner_ids))
        segments = sorted(
            {s or UNKNOWN_SEGMENT for s in visible_cases.values_list("customer__segment", flat=True).distinct()}
        )
        self.fields["segment"].choices = [("", "All segments")] + [(s, s) for s in segments]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    @property
    def order_by(self) -> str:
        return self.cleaned_data.get("order") or ORDER_BY_LOST_ARR

    def apply(self, cases):
        data = self.cleaned_data
        segment = data.get("segment") or None
        return filter_cases(
            cases,
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            team_id=data["team"].pk if data.get("team") else None,
            owner_id=data["owner"].pk if data.get("owner") else None,
            role=data.get("role") or "",
            segment="" if segment == UNKNOWN_SEGMENT else segment,
            reason_code=data.get("reason") or None,
            no_reason=bool(data.get("no_reason")),
        )


class ChurnReasonForm(forms.ModelForm):
    """Add or edit a reason of the taxonomy; the code is fixed once created (API clients use it)."""

    class Meta:
        model = ChurnReason
        fields = ["code", "label", "category", "active"]
        help_texts = {"code": "Letters, digits, hyphens and underscores; it cannot change later."}
        error_messages = {"code": {"unique": "Another reason already has this code."}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["code"].disabled = True

    def clean_label(self):
        label = self.cleaned_data["label"].strip()
        if label.casefold() == NO_REASON_LABEL.casefold():
            raise forms.ValidationError(f"“{NO_REASON_LABEL}” is kept for cases without a reason.")
        if ChurnReason.objects.filter(label__iexact=label).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(
                "Another reason already has this label; the Pareto would show two bars with one name."
            )
        return label
