"""Books: who holds an account from which day, and moving a whole book at once.

The rules are pure functions over plain rows (``plan_move``, ``plan_assign``); ``carry_out``
writes a plan in one transaction, with the assignments' edit history (who, when, why) and one
recompute request for the customers it touches (queued after the commit, never run here).

- Moving a book from day D: every assignment of the person in that role still held on D ends on
  D - 1 and a new one, for the new owner, starts on D and ends when the old one would have; an
  assignment that starts on or after D simply changes hands.
- Assigning one account from day D: the assignment held on D ends on D - 1 (one starting on D
  changes hands), and the new owner holds it from D until the day before the next assignment
  already planned, or with no end.
Leads may do either between members of a team they lead (both members on day D); admins for
anyone active.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django import forms
from django.db import transaction
from django.db.models import Q
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from accounts.models import TeamMembership, User, overlapping_spans
from metrics.models import Assignment, AssignmentRole
from metrics.recompute.triggers import request_recompute

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Held:
    """An assignment as it is (end inclusive, None = open)."""

    id: int
    customer_id: int
    role: str
    user_id: int
    start: date
    end: date | None


@dataclass(frozen=True)
class New:
    customer_id: int
    role: str
    user_id: int
    start: date
    end: date | None


@dataclass
class Plan:
    ended: list[tuple[Held, date]] = field(default_factory=list)  # (assignment, its new end)
    handed_over: list[Held] = field(default_factory=list)  # the same dates, the new owner
    created: list[New] = field(default_factory=list)

    @property
    def customer_ids(self) -> set[int]:
        return {h.customer_id for h, _ in self.ended} | {h.customer_id for h in self.handed_over} | {n.customer_id for n in self.created}

    def __bool__(self) -> bool:
        return bool(self.ended or self.handed_over or self.created)


def plan_move(held: list[Held], to_user_id: int, day: date) -> Plan:
    """A book (one person's assignments in one role) to another owner from ``day``."""
    plan = Plan()
    for a in sorted(held, key=lambda a: (a.customer_id, a.start)):
        if a.user_id == to_user_id or (a.end is not None and a.end < day):
            continue  # already theirs, or over before the day
        if a.start >= day:
            plan.handed_over.append(a)
        else:
            plan.ended.append((a, day - ONE_DAY))
            plan.created.append(New(a.customer_id, a.role, to_user_id, day, a.end))
    return plan


def plan_assign(existing: list[Held], customer_id: int, role: str, user_id: int, day: date) -> Plan:
    """One account in one role to ``user_id`` from ``day`` (``existing``: that customer's
    assignments in that role)."""
    plan = Plan()
    on_day = next((a for a in existing if a.start <= day and (a.end is None or a.end >= day)), None)
    if on_day is not None and on_day.user_id == user_id:
        return plan  # already theirs on that day
    if on_day is not None and on_day.start == day:
        plan.handed_over.append(on_day)
        return plan
    later = [a.start for a in existing if a.start > day]
    if on_day is not None:
        plan.ended.append((on_day, day - ONE_DAY))
    plan.created.append(New(customer_id, role, user_id, day, min(later) - ONE_DAY if later else None))
    return plan


def held_rows(queryset) -> list[Held]:
    return [Held(*values) for values in queryset.values_list("id", "customer_id", "role", "user_id", "start_date", "end_date")]


class BookChanged(Exception):
    """The assignments changed between the preview and the confirmation."""


def carry_out(plan: Plan, to_user_id: int, by: User, reason: str, expected: set[int] | None = None) -> int:
    """Write a plan in one transaction; returns the number of customers touched.

    ``expected``: the assignment ids the confirmed preview showed; if the rows to change are no
    longer those, nothing is written (``BookChanged``)."""
    with transaction.atomic():
        ids = [h.id for h, _ in plan.ended] + [h.id for h in plan.handed_over]
        rows = {a.pk: a for a in Assignment.objects.select_for_update().filter(pk__in=ids)}
        if expected is not None and set(ids) != expected:
            raise BookChanged
        for held in [h for h, _ in plan.ended] + plan.handed_over:
            row = rows.get(held.id)
            if row is None or (row.user_id, row.start_date, row.end_date) != (held.user_id, held.start, held.end):
                raise BookChanged
        for held, end in plan.ended:
            rows[held.id].end_date = end
        for held in plan.handed_over:
            rows[held.id].user_id = to_user_id
        changed = list(rows.values())
        if changed:
            bulk_update_with_history(changed, Assignment, ["end_date", "user_id"], default_user=by,
                                     default_change_reason=reason)  # fmt: skip
        new = [Assignment(customer_id=n.customer_id, role=n.role, user_id=n.user_id, start_date=n.start, end_date=n.end)
               for n in plan.created]  # fmt: skip
        for assignment in new:
            assignment.full_clean()  # the model's own overlap check, as a form edit gets
        if new:
            bulk_create_with_history(new, Assignment, default_user=by, default_change_reason=reason)
        touched = plan.customer_ids
        if touched:
            request_recompute(touched)  # the workers start after the commit
    return len(touched)


def preview_rows(plan: Plan, day: date) -> list[dict[str, Any]]:
    """What a plan moves, one row per account, by customer name: its assignment as it is, the day
    it ends (None: handed over whole) and the new owner's first day (the pages' and the API's preview)."""
    from metrics.models import Customer

    names = dict(Customer.objects.filter(id__in=plan.customer_ids).values_list("id", "name"))
    rows: list[dict[str, Any]] = [{"assignment_id": h.id, "customer_id": h.customer_id, "name": names.get(h.customer_id, ""), "start": h.start,
             "end": h.end, "ends_on": end, "new_start": day} for h, end in plan.ended]
    rows += [{"assignment_id": h.id, "customer_id": h.customer_id, "name": names.get(h.customer_id, ""), "start": h.start,
              "end": h.end, "ends_on": None, "new_start": h.start} for h in plan.handed_over]  # fmt: skip
    rows.sort(key=lambda m: m["name"].lower())
    return rows


def expected_ids(plan: Plan) -> list[int]:
    """The assignment ids a preview shows: a confirmation carries them back (``carry_out``'s ``expected``)."""
    return [h.id for h, _ in plan.ended] + [h.id for h in plan.handed_over]


def move_reason(giver: User, taker: User, role: str, day: date) -> str:
    return f"Book move: {giver.email}'s {role} accounts to {taker.email} from {day}"


# --- who may move what ------------------------------------------------------------------


def member_on(user_id: int, team_ids, day: date) -> bool:
    memberships = TeamMembership.objects.filter(user_id=user_id, team_id__in=team_ids)
    return overlapping_spans(memberships, day, day).exists()


def may_move_between(vis, from_user_id: int | None, to_user_id: int, day: date) -> str | None:
    """None when the user may hand accounts from one owner to another on ``day``, else why not."""
    if vis.is_admin:
        return None
    if not vis.led_team_ids:
        return "Only admins and team leads change books."
    for who in (from_user_id, to_user_id):
        if who is None or not member_on(who, vis.led_team_ids, day):
            return "A lead moves accounts only between members of a team it leads on that day."
    return None


def can_assign(vis, customer) -> bool:
    """Whether the assignment form shows on a customer page at all (the checks come on saving)."""
    return vis.is_admin or bool(vis.led_team_ids)


def owner_choices(vis):
    """The people a user may hand accounts to: admins anyone active; leads their teams' members."""
    people = User.objects.filter(is_active=True)
    if not vis.is_admin:
        people = people.filter(memberships__team_id__in=vis.led_team_ids).distinct()
    return people.order_by("email")


class AssignForm(forms.Form):
    role = forms.ChoiceField(choices=AssignmentRole.choices)
    user = forms.ModelChoiceField(queryset=User.objects.none(), label="Owner")
    start_date = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, vis, customer, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.vis, self.customer = vis, customer
        self.fields["user"].queryset = owner_choices(vis)
        self.fields["user"].label_from_instance = lambda u: f"{u.display_name} ({u.email})"

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        role, user, day = data["role"], data["user"], data["start_date"]
        existing = held_rows(Assignment.objects.filter(customer=self.customer, role=role))
        current = next((a for a in existing if a.start <= day and (a.end is None or a.end >= day)), None)
        refusal = may_move_between(self.vis, current.user_id if current else None, user.pk, day)
        if refusal:
            raise forms.ValidationError(refusal)
        data["plan"] = plan_assign(existing, self.customer.pk, role, user.pk, day)
        if not data["plan"]:
            raise forms.ValidationError(f"{user.email} already holds this account as {role} on {day}.")
        return data


class MoveForm(forms.Form):
    from_user = forms.ModelChoiceField(queryset=User.objects.none(), label="Accounts of")
    role = forms.ChoiceField(choices=AssignmentRole.choices, label="As")
    to_user = forms.ModelChoiceField(queryset=User.objects.none(), label="Go to")
    start_date = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, vis, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.vis = vis
        givers = User.objects.all() if vis.is_admin else User.objects.filter(memberships__team_id__in=vis.led_team_ids).distinct()
        self.fields["from_user"].queryset = givers.order_by("email")
        self.fields["to_user"].queryset = owner_choices(vis)
        for name in ("from_user", "to_user"):
            self.fields[name].label_from_instance = lambda u: f"{u.display_name} ({u.email})" + ("" if u.is_active else " (deactivated)")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        giver, taker, role, day = data["from_user"], data["to_user"], data["role"], data["start_date"]
        if giver == taker:
            raise forms.ValidationError("Choose two different people.")
        refusal = may_move_between(self.vis, giver.pk, taker.pk, day)
        if refusal:
            raise forms.ValidationError(refusal)
        held = held_rows(Assignment.objects.filter(Q(end_date__isnull=True) | Q(end_date__gte=day), user=giver, role=role))
        data["plan"] = plan_move(held, taker.pk, day)
        if not data["plan"]:
            raise forms.ValidationError(f"{giver.email} holds no {role} account on or after {day}.")
        return data
