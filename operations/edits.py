"""Edits in forms: a customer's attributes, its contract lines, its assignments (admins).

The forms are ModelForms, so a save runs the model's own validation (``full_clean``: the field
checks, ``clean()`` with the messages the import and the API give, the unique and check
constraints); the database's constraints (e.g. PostgreSQL's no-overlap exclusion on
assignments) refuse whatever slips past, and then nothing is saved. A save is one transaction:
the row, its django-simple-history record (with who changed it) and the recompute request the
model signals (``metrics.signals``) write commit together, and the recompute runs after it.

The history shown on the customer page is read back from those history records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django import forms
from django.db import IntegrityError, transaction

from accounts.models import User
from metrics.models import Assignment, ContractLine, Customer

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
CONFLICT = "This change conflicts with data saved meanwhile (the database refused it); nothing was saved. Reload and retry."


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = ["external_id", "name", "segment", "region", "industry", "use_case"]
        labels = {"external_id": "CRM id", "use_case": "Use case"}


class LineForm(forms.ModelForm):
    class Meta:
        model = ContractLine
        fields = ["external_id", "product", "start_date", "end_date", "arr", "currency"]
        labels = {"external_id": "Line id", "start_date": "From", "end_date": "To (last day; empty = open)", "arr": "ARR"}
        widgets = {"start_date": DATE, "end_date": DATE}


class AssignmentForm(forms.ModelForm):
    class Meta:
        model = Assignment
        fields = ["role", "user", "start_date", "end_date"]
        labels = {"user": "Owner", "start_date": "From", "end_date": "To (last day; empty = open)"}
        widgets = {"start_date": DATE, "end_date": DATE}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.order_by("email")
        self.fields["user"].label_from_instance = lambda u: f"{u.display_name} ({u.email})" + ("" if u.is_active else " (deactivated)")


def save(form: forms.ModelForm, by: User, reason: str) -> bool:
    """Save a valid form in one transaction, its history record naming ``by``; False (and the
    database's refusal as a form error) when a constraint refused it: nothing saved."""
    instance = form.instance
    instance._history_user = by
    instance._change_reason = reason
    try:
        with transaction.atomic():
            form.save()
    except IntegrityError:
        form.add_error(None, CONFLICT)
        return False
    return True


# --- history --------------------------------------------------------------------------------

FIELDS = {
    "customer": list(CustomerForm.Meta.fields),
    "line": ["external_id", "product", "start_date", "end_date", "arr", "currency"],
    "assignment": ["role", "user_id", "start_date", "end_date"],
}
LABELS = {"external_id": "id", "start_date": "from", "end_date": "to", "arr": "ARR", "user_id": "owner", "use_case": "use case"}


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class Entry:
    when: datetime
    who: str  # the user's email, or "" when unknown (e.g. a command-line import)
    what: str  # "Customer", "Line L1", "CSM assignment from 2025-01-01"
    kind: str  # created, changed, deleted
    changes: list[Change]
    reason: str


def shown(value) -> str:
    if value is None or value == "":
        return "—"
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def diff(before: dict | None, after: dict, fields: list[str]) -> list[Change]:
    """The fields whose shown value differs (every non-empty one for a creation)."""
    if before is None:
        return [Change(f, "—", shown(after[f])) for f in fields if shown(after[f]) != "—"]
    return [Change(f, shown(before[f]), shown(after[f])) for f in fields if shown(before[f]) != shown(after[f])]


KINDS = {"+": "created", "~": "changed", "-": "deleted"}


def _entries(records, fields: list[str], describe, emails: dict[int, str]) -> list[Entry]:
    """History records of one model (ordered by object, then time) as entries with their diffs."""
    entries: list[Entry] = []
    previous: dict[int, dict] = {}
    for record in records:
        values = {f: getattr(record, f) for f in fields}
        shown_values = {**values, **({"user_id": emails.get(values["user_id"], values["user_id"])} if "user_id" in values else {})}
        before = previous.get(record.id)
        changes = [] if record.history_type == "-" else diff(before, shown_values, fields)
        previous[record.id] = shown_values
        if record.history_type == "~" and not changes:
            continue  # a save that changed nothing shown
        entries.append(Entry(record.history_date, emails.get(record.history_user_id, ""), describe(record),
                             KINDS[record.history_type], [Change(LABELS.get(c.field, c.field.replace("_", " ")), c.before, c.after) for c in changes],
                             record.history_change_reason or ""))  # fmt: skip
    return entries


def customer_history(customer: Customer, limit: int = 100) -> tuple[list[Entry], int]:
    """Who changed what and when, newest first: the customer, its lines and its assignments
    (deleted ones too). Returns at most ``limit`` entries and how many there are in all."""
    order = ("id", "history_date", "history_id")
    customers = list(Customer.history.filter(id=customer.pk).order_by(*order))
    lines = list(ContractLine.history.filter(customer_id=customer.pk).order_by(*order))
    assignments = list(Assignment.history.filter(customer_id=customer.pk).order_by(*order))
    user_ids = {r.history_user_id for r in [*customers, *lines, *assignments]} | {r.user_id for r in assignments}
    emails = dict(User.objects.filter(id__in=user_ids - {None}).values_list("id", "email"))
    entries = [
        *_entries(customers, FIELDS["customer"], lambda r: "Customer", emails),
        *_entries(lines, FIELDS["line"], lambda r: f"Line {r.external_id}", emails),
        *_entries(assignments, FIELDS["assignment"], lambda r: f"{r.role.upper()} assignment from {shown(r.start_date)}", emails),
    ]
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries[:limit], len(entries)
