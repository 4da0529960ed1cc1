"""Renewals (SPEC section 8): a contract line with an end date is up for renewal on that day.

It is *renewed* when the customer has a line of the same product starting within
``RENEWAL_GRACE_DAYS`` after it (on one of the days end+1 .. end+grace), *lapsed* when that
window has passed without one, and *open* until then (the window's last day included).

``renewal_status`` and ``summarize`` are pure; ``load_renewals`` reads the contract lines of a
date range with a fixed number of queries (lines, their possible successors, assignments,
memberships, risk marks) and scopes them through ``metrics.scoping.Visibility``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

RENEWED, LAPSED, OPEN = "renewed", "lapsed", "open"
STATUSES = (RENEWED, OPEN, LAPSED)
STATUS_LABELS = {RENEWED: "Renewed", OPEN: "Open", LAPSED: "Lapsed"}
ROLES = ("csm", "am")
ZERO = Decimal("0.00")


def renewal_status(end_date: date, successor_starts: Iterable[date], grace_days: int, today: date) -> str:
    """The status of a line ending on ``end_date`` given the start days of the customer's other
    lines of the same product: renewed by one starting on end+1 .. end+grace (a signed renewal
    that starts later than today counts), lapsed once today is past end+grace, else open."""
    deadline = end_date + timedelta(days=grace_days)
    if any(end_date < start <= deadline for start in successor_starts):
        return RENEWED
    return LAPSED if today > deadline else OPEN


@dataclass(frozen=True)
class Renewal:
    line_id: int
    line_external_id: str
    customer_id: int
    customer_name: str
    customer_external_id: str
    product: str
    end_date: date
    arr: Decimal
    status: str
    owners: dict  # role -> (user id | None, email | None)
    teams: dict  # role -> (team id | None, team name | None)
    risk: str  # "" when never marked
    expected_loss: Decimal | None

    @property
    def month(self) -> date:
        return self.end_date.replace(day=1)

    def owner_email(self, role: str) -> str:
        return self.owners[role][1] or "unassigned"

    def owner_id(self, role: str):
        return self.owners[role][0]

    def team_name(self, role: str) -> str:
        return self.teams[role][1] or "unassigned"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def at_risk(self) -> bool:
        return self.risk in ("at_risk", "likely_to_churn")


@dataclass
class Summary:
    """ARR up for renewal in a group (a month, an owner), split by status, and what is at risk."""

    key: object
    lines: int = 0
    up: Decimal = ZERO
    renewed: Decimal = ZERO
    open: Decimal = ZERO
    lapsed: Decimal = ZERO
    at_risk: Decimal = ZERO
    owner_id: int | None = None

    def add(self, r: Renewal) -> None:
        self.lines += 1
        self.up += r.arr
        setattr(self, r.status, getattr(self, r.status) + r.arr)
        if r.at_risk:
            self.at_risk += r.arr

    @property
    def renewal_rate(self) -> Decimal | None:
        """Renewed ARR over the ARR whose outcome is known (renewed or lapsed); None when none is."""
        decided = self.renewed + self.lapsed
        return None if not decided else (self.renewed / decided).quantize(Decimal("0.0001"))


@dataclass
class Summaries:
    total: Summary
    by_month: list[Summary] = field(default_factory=list)
    by_owner: list[Summary] = field(default_factory=list)


def summarize(renewals: Iterable[Renewal], role: str) -> Summaries:
    """Totals, by month (of the end date) and by owner in ``role`` on the end date; owners by ARR up."""
    total = Summary("total")
    months: dict = {}
    owners: dict = {}
    for r in renewals:
        total.add(r)
        months.setdefault(r.month, Summary(r.month)).add(r)
        email = r.owner_email(role)
        owners.setdefault(email, Summary(email, owner_id=r.owner_id(role))).add(r)
    by_owner = sorted(owners.values(), key=lambda s: (-s.up, s.key))
    return Summaries(total, [months[m] for m in sorted(months)], by_owner)


def customer_attribute_filter(attributes: dict) -> dict:
    """ORM lookups on a contract line's customer for attribute -> value (``UNKNOWN``: left empty; falsy: any)."""
    from metrics.vocabulary import CUSTOMER_ATTRIBUTES, UNKNOWN

    lookups = {}
    for attr, value in attributes.items():
        if attr not in CUSTOMER_ATTRIBUTES:
            raise ValueError(f"{attr!r} is not a customer attribute")
        if value:
            lookups[f"customer__{attr}__in"] = ["", UNKNOWN] if value == UNKNOWN else [value]
    return lookups


def _covering(spans, day: date):
    """The value of the (start, end, value) span covering a day (end inclusive, None = open)."""
    for start, end, value in spans:
        if start <= day and (end is None or day <= end):
            return value
    return None


def attribute_values(customers) -> dict[str, list[str]]:
    """attribute -> the sorted values the given customers (a queryset) have for it, an empty one
    spelled ``UNKNOWN`` as on the company pages (one query per attribute)."""
    from metrics.vocabulary import CUSTOMER_ATTRIBUTES, UNKNOWN

    return {
        attr: sorted({value or UNKNOWN for value in customers.order_by().values_list(attr, flat=True).distinct()})
        for attr in CUSTOMER_ATTRIBUTES
    }


def load_renewals(
    visibility,
    start: date,
    end: date,
    today: date,
    grace_days: int,
    *,
    role: str = "csm",
    team_id: int | None = None,
    owner_id: int | None = None,
    status: str = "",
    customer_ids: Iterable[int] | None = None,
    attributes: dict | None = None,
) -> list[Renewal]:
    """Lines ending on start..end that ``visibility`` (None: no restriction) may see (an owner of either role on the end
    date is the viewer, or was then in a team the viewer leads), sorted by end date then customer.
    ``team_id``/``owner_id`` narrow to the ``role``'s owner or team on the end date; ``attributes`` (segment, region,
    industry, use_case -> value, ``UNKNOWN`` for an empty one) to the customers with those values."""
    from accounts.models import Team, TeamMembership, User
    from metrics.models import Assignment, ContractLine

    from .models import RiskMark

    ending = ContractLine.objects.filter(end_date__gte=start, end_date__lte=end).select_related("customer")
    if customer_ids is not None:
        ending = ending.filter(customer_id__in=list(customer_ids))
    ending = ending.filter(**customer_attribute_filter(attributes or {}))
    lines = list(ending.order_by("end_date", "customer__name", "product", "external_id"))
    if not lines:
        return []
    customers = {line.customer_id for line in lines}
    successors = defaultdict(list)
    for customer_id, product, line_start in ContractLine.objects.filter(
        customer_id__in=customers, start_date__gt=start, start_date__lte=end + timedelta(days=grace_days)
    ).values_list("customer_id", "product", "start_date"):
        successors[customer_id, product].append(line_start)
    held = defaultdict(list)
    for customer_id, a_role, user_id, a_start, a_end in Assignment.objects.filter(
        customer_id__in=customers
    ).values_list("customer_id", "role", "user_id", "start_date", "end_date"):
        held[customer_id, a_role].append((a_start, a_end, user_id))
    user_ids = {user_id for spans in held.values() for *_, user_id in spans}
    emails = dict(User.objects.filter(id__in=user_ids).values_list("id", "email"))
    membership = defaultdict(list)
    for user_id, member_of, m_start, m_end in TeamMembership.objects.filter(user_id__in=user_ids).values_list(
        "user_id", "team_id", "start_date", "end_date"
    ):
        membership[user_id].append((m_start, m_end, member_of))
    team_names: dict[int | None, str] = dict(Team.objects.values_list("id", "name"))
    risk = current_risk(RiskMark.objects.filter(customer_id__in=customers))

    restricted = visibility is not None and not visibility.sees_everything
    led, me = (visibility.led_team_ids, visibility.user.pk) if restricted else (frozenset(), None)
    out = []
    for line in lines:
        ends = line.end_date
        assert ends is not None  # only lines with an end date come up for renewal
        owners, teams = {}, {}
        for r in ROLES:
            user_id = _covering(held[line.customer_id, r], ends)
            team = _covering(membership[user_id], ends) if user_id else None
            owners[r] = (user_id, emails.get(user_id))
            teams[r] = (team, team_names.get(team))
        if restricted and not any(owners[r][0] == me or teams[r][0] in led for r in ROLES):
            continue
        if owner_id is not None and owners[role][0] != owner_id:
            continue
        if team_id is not None and teams[role][0] != team_id:
            continue
        line_status = renewal_status(ends, successors[line.customer_id, line.product], grace_days, today)
        if status and line_status != status:
            continue
        mark = risk.get(line.customer_id)
        out.append(
            Renewal(
                line.pk,
                line.external_id,
                line.customer_id,
                line.customer.name,
                line.customer.external_id,
                line.product,
                ends,
                line.arr,
                line_status,
                owners,
                teams,
                mark.status if mark else "",
                mark.expected_loss if mark else None,
            )
        )
    return out


def current_risk(marks) -> dict:
    """customer id -> its latest RiskMark, from a queryset of marks (one query)."""
    from django.db.models import Max

    from .models import RiskMark

    # Marks are never edited, only added: the latest is the highest id.
    last_ids = marks.order_by().values("customer_id").annotate(last=Max("id")).values("last")
    return {mark.customer_id: mark for mark in RiskMark.objects.filter(id__in=last_ids)}
