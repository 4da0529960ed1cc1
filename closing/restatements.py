"""The restatement report of a closed period (SPEC section 9).

Before: each customer's contribution at the close, answered by ``metrics.recompute.accounts``
from the inputs copied at the close. After: the same from the live figures' inputs. Only the
customers an edit touched since the close are compared (the edit history says which: their
contract lines, assignments and customer row, and the memberships of their owners); a customer
is listed when some figure of some scope it counts in moved. Its edits come from the model
history (django-simple-history), each with who made it and when; an import names its run.
"""

from __future__ import annotations

from typing import Any

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Q

from accounts.models import Team, TeamMembership, User
from metrics.models import (
    Assignment,
    ContractLine,
    Customer,
    RetentionSnapshot,
    SnapshotAssignment,
)
from metrics.recompute import accounts
from metrics.recompute.accounts import Filters, Inputs, make_period
from metrics.vocabulary import COMPANY

from . import diffing
from .models import PeriodClose, ReportedFigure
from .reported import COMPARED_FIELDS, differs

LINE_FIELDS = ("product", "start_date", "end_date", "arr", "currency", "customer_id")
ASSIGNMENT_FIELDS = ("user_id", "role", "start_date", "end_date")
MEMBERSHIP_FIELDS = ("team_id", "start_date", "end_date")
CUSTOMER_FIELDS = ("segment", "region", "industry", "use_case", "name")
UNASSIGNED = "unassigned"
MAX_BOUND_CUSTOMERS = 5000


@dataclass
class Edit:
    when: datetime
    who: str
    what: str  # "contract line L3", "CSM assignment", "membership of ann@example.com", "customer"
    kind: str  # added, changed, deleted
    changes: list[tuple[str, Any, Any]]  # (field, before, after)
    source: str  # "CSV import ..." or "" (a change on the site, the API or the admin)


@dataclass
class CustomerRestatement:
    customer_id: int
    name: str
    external_id: str
    figures: list[diffing.FigureChange]
    attribution: list[Any]  # diffing.AttributionChange, then (label, before, after) with names not ids
    edits: list[Edit] = field(default_factory=list)


@dataclass
class ScopeRestatement:
    scope_type: str
    scope_key: str
    role: str
    reported: object  # ReportedFigure or None (the scope had no figures at the close)
    live: object  # RetentionSnapshot or None (the scope has no figures now)


@dataclass
class Report:
    close: PeriodClose
    scopes: list[ScopeRestatement]
    customers: list[CustomerRestatement]
    edited_customers: int  # customers an edit touched since the close (compared)


def edited_since(close: PeriodClose, live_version: int) -> tuple[set[int], set[int]]:
    """(customers, users) touched by an edit since the close: by history, on the models the
    figures are made of. A membership edit touches the customers its user owned on the period's
    first day, at the close or now."""
    since = close.closed_at
    customers = set(ContractLine.history.filter(history_date__gt=since).values_list("customer_id", flat=True))
    customers |= set(Assignment.history.filter(history_date__gt=since).values_list("customer_id", flat=True))
    customers |= set(Customer.history.filter(history_date__gt=since).values_list("id", flat=True))
    users = set(TeamMembership.history.filter(history_date__gt=since).values_list("user_id", flat=True))
    if users:
        day = close.period_start
        owned = SnapshotAssignment.objects.filter(
            Q(end_date__isnull=True) | Q(end_date__gte=day),
            version__in=[close.input_version, live_version], user_id__in=users, start_date__lte=day,
        )  # fmt: skip
        customers |= set(owned.values_list("customer_id", flat=True))
    customers.discard(None)
    return customers, users


def build_report(close: PeriodClose, visible: accounts.Visible | None = None) -> Report:
    inputs = Inputs.current()
    customers, users = edited_since(close, inputs.version)
    changed = []
    if customers and close.input_version:
        period_then = make_period(close.granularity, close.period_start, close.as_of)
        period_now = inputs.period(close.granularity, close.period_start)
        # Few edited customers: ask for just them. Many (a large import): read every row once,
        # streamed, rather than bind tens of thousands of ids (SQLite allows 32,766 parameters).
        filters = Filters(customer_ids=frozenset(customers)) if len(customers) <= MAX_BOUND_CUSTOMERS else None
        before, after = defaultdict(list), defaultdict(list)
        for row in accounts.iter_account_rows(close.input_version, period_then, None, visible=visible, filters=filters):
            if row.customer_id in customers:
                before[row.customer_id].append(row)
        for row in accounts.iter_account_rows(inputs.version, period_now, None, visible=visible, filters=filters):
            if row.customer_id in customers:
                after[row.customer_id].append(row)
        names = {r.customer_id: (r.customer_name, r.external_id) for rows in (*before.values(), *after.values()) for r in rows}
        for customer_id in sorted(before.keys() | after.keys(), key=lambda c: (names[c][0].lower(), c)):
            figures = diffing.figure_changes(before[customer_id], after[customer_id])
            moved = diffing.attribution_changes(before[customer_id], after[customer_id])
            if figures or moved:
                changed.append(CustomerRestatement(customer_id, *names[customer_id], figures, moved))  # type: ignore[arg-type]
    _name_attributions(changed)
    _attach_edits(close, changed, users)
    return Report(close, restated_scopes(close, visible_scope_filter=None), changed, len(customers))


def restated_scopes(close: PeriodClose, visible_scope_filter=None) -> list[ScopeRestatement]:
    """Every scope of the period whose live figures differ from the reported ones."""
    reported = {(f.scope_type, f.scope_key, f.role): f for f in ReportedFigure.objects.filter(close=close)}
    live_rows = RetentionSnapshot.objects.filter(granularity=close.granularity, period_start=close.period_start)
    if visible_scope_filter is not None:
        live_rows = visible_scope_filter(live_rows)
    live = {(r.scope_type, r.scope_key, r.role): r for r in live_rows}
    result = []
    for key in sorted(reported.keys() | live.keys(), key=lambda k: (k[0] != COMPANY, k)):
        old, new = reported.get(key), live.get(key)
        if old is None or new is None or differs(old, new):
            result.append(ScopeRestatement(*key, old, new))
    return result


def _name_attributions(changed: list[CustomerRestatement]) -> None:
    ids = {v for c in changed for a in c.attribution for v in (a.before, a.after) if isinstance(v, int)}
    users = dict(User.objects.filter(id__in=ids).values_list("id", "email"))
    teams = dict(Team.objects.filter(id__in=ids).values_list("id", "name"))
    for c in changed:
        named = []
        for a in c.attribution:
            lookup = users if a.field.endswith("owner_id") else teams if a.field.endswith("team_id") else None
            named.append((a.label, _named(lookup, a.before), _named(lookup, a.after)))
        c.attribution = named


def _named(lookup: dict | None, value):
    """An owner's email or a team's name for an id (unassigned for none); other values as they are."""
    if lookup is None:
        return value
    return lookup.get(value, UNASSIGNED) if value is not None else UNASSIGNED


def _history_edits(model_history, records, fields, since, describe, bears_on) -> dict[Any, list[tuple[Any, Edit]]]:
    """Edits after ``since`` from history records (every record of the objects, oldest first, so
    that each edit is compared with the state before it): {object id: [(group key, Edit)]}."""
    by_object = defaultdict(list)
    for record in records:
        by_object[record.id].append(record)
    edits = defaultdict(list)
    for object_id, history in by_object.items():
        previous: dict[str, Any] | None = None
        for record in history:
            state = None if record.history_type == "-" else {f: getattr(record, f) for f in fields}
            if record.history_date > since:
                before = previous
                after = state
                if bears_on(before, after):
                    changes = [(f, (before or {}).get(f), (after or {}).get(f)) for f in fields
                               if (before or {}).get(f) != (after or {}).get(f)]  # fmt: skip
                    kind = {"+": "added", "~": "changed", "-": "deleted"}[record.history_type]
                    user = record.history_user.email if record.history_user_id and record.history_user else ""
                    edit = Edit(record.history_date, user or "(no user: a command or a script)", describe(record), kind, changes,
                                record.history_change_reason or "")  # fmt: skip
                    edits[object_id].append((record, edit))
            previous = state if record.history_type != "-" else None
    return edits


def _attach_edits(close: PeriodClose, changed: list[CustomerRestatement], users: set[int]) -> None:
    if not changed:
        return
    ids = [c.customer_id for c in changed]
    s, l, since = close.period_start, close.period_end, close.closed_at
    by_customer: dict[int, list[Edit]] = defaultdict(list)

    lines = ContractLine.history.filter(customer_id__in=ids).select_related("history_user").order_by("id", "history_date", "history_id")
    for items in _history_edits(ContractLine.history, lines, LINE_FIELDS, since,
                                   lambda r: f"contract line {r.external_id} ({r.product})",
                                   lambda b, a: diffing.line_bears_on(b, a, s, l)).values():  # fmt: skip
        for record, edit in items:
            by_customer[record.customer_id].append(edit)

    assignments = Assignment.history.filter(customer_id__in=ids).select_related("history_user").order_by("id", "history_date", "history_id")
    for items in _history_edits(Assignment.history, assignments, ASSIGNMENT_FIELDS, since,
                                   lambda r: f"{r.role.upper()} assignment",
                                   lambda b, a: diffing.dated_bears_on(b, a, s)).values():  # fmt: skip
        for record, edit in items:
            by_customer[record.customer_id].append(edit)

    rows = Customer.history.filter(id__in=ids).select_related("history_user").order_by("id", "history_date", "history_id")
    for customer_id, items in _history_edits(Customer.history, rows, CUSTOMER_FIELDS, since, lambda r: "customer",
                                             lambda b, a: True).items():  # fmt: skip
        for _, edit in items:
            edit.changes = [c for c in edit.changes if c[0] != "name"] or edit.changes
            by_customer[customer_id].append(edit)

    if users:
        # A membership edit bears on the customers its user owned on day s (at the close or now).
        owners = defaultdict(set)
        for customer_id, user_id in SnapshotAssignment.objects.filter(
            Q(end_date__isnull=True) | Q(end_date__gte=s),
            version__in=[close.input_version, Inputs.current().version], customer_id__in=ids, user_id__in=users, start_date__lte=s,
        ).values_list("customer_id", "user_id"):  # fmt: skip
            owners[user_id].add(customer_id)
        emails = dict(User.objects.filter(id__in=users).values_list("id", "email"))
        teams = dict(Team.objects.values_list("id", "name"))
        memberships = TeamMembership.history.filter(user_id__in=users).select_related("history_user").order_by("id", "history_date", "history_id")
        for items in _history_edits(TeamMembership.history, memberships, MEMBERSHIP_FIELDS, since,
                                       lambda r: f"team membership of {emails.get(r.user_id, r.user_id)}",
                                       lambda b, a: diffing.dated_bears_on(b, a, s)).values():  # fmt: skip
            for record, edit in items:
                edit.changes = [(f, teams.get(b, b), teams.get(a, a)) if f == "team_id" else (f, b, a) for f, b, a in edit.changes]
                for customer_id in owners.get(record.user_id, ()):
                    by_customer[customer_id].append(edit)

    user_names = dict(User.objects.filter(id__in={v for es in by_customer.values() for e in es for f, b, a in e.changes if f == "user_id" for v in (b, a)}).values_list("id", "email"))  # fmt: skip
    for c in changed:
        edits = sorted(by_customer.get(c.customer_id, []), key=lambda e: e.when)
        for e in edits:
            e.changes = [(f, user_names.get(b, b), user_names.get(a, a)) if f == "user_id" else (f, b, a) for f, b, a in e.changes]
            e.changes = [(f.removesuffix("_id"), _shown(b), _shown(a)) for f, b, a in e.changes if f != "customer_id" or b is not None]
        c.edits = edits


def _shown(value):
    """A field's value in an edit as people read it (ISO dates; amounts as stored)."""
    return value.isoformat() if isinstance(value, date) else value


def report_period_label(close: PeriodClose) -> str:
    from web.templatetags.retention_format import period_label

    return period_label(close.granularity, close.period_start, close.period_end)


def as_json(report: Report) -> dict:
    """The report as the API answers it (money as strings, dates ISO)."""

    def value(v):
        if v is None or isinstance(v, (bool, int, str)):
            return v
        if isinstance(v, date):
            return v.isoformat()
        return str(v)

    def figures(row):
        return None if row is None else {f: value(getattr(row, f)) for f in COMPARED_FIELDS}

    close = report.close
    return {
        "close": close_json(close),
        "edited_customers": report.edited_customers,
        "restated_scopes": [
            {"scope_type": s.scope_type, "scope_key": s.scope_key, "role": s.role, "reported": figures(s.reported), "live": figures(s.live)}
            for s in report.scopes
        ],
        "customers": [
            {
                "customer": c.external_id,
                "name": c.name,
                "figures": [
                    {"product": f.product, "figure": f.figure, "before": value(f.before), "after": value(f.after), "difference": value(f.difference)}
                    for f in c.figures
                ],
                "attribution": [{"field": label, "before": value(b), "after": value(a)} for label, b, a in c.attribution],
                "edits": [
                    {"when": e.when.isoformat(), "who": e.who, "what": e.what, "kind": e.kind, "source": e.source,
                     "changes": [{"field": f, "before": value(b), "after": value(a)} for f, b, a in e.changes]}
                    for e in c.edits
                ],
            }
            for c in report.customers
        ],
    }


def close_json(close: PeriodClose) -> dict:
    return {
        "id": close.pk,
        "granularity": close.granularity,
        "period_start": close.period_start.isoformat(),
        "period_end": close.period_end.isoformat(),
        "closed": close.reopened_at is None,
        "closed_by": close.closed_by.email if close.closed_by else None,
        "closed_at": close.closed_at.isoformat(),
        "reopened_by": close.reopened_by.email if close.reopened_by else None,
        "reopened_at": close.reopened_at.isoformat() if close.reopened_at else None,
        "reopen_reason": close.reopen_reason,
    }
