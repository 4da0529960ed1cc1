"""Page selectors: what the company, team and owner pages and the drill-down show, read from the
snapshots and the on-demand account rows and returned as plain dataclasses (the views only turn
a request into a response)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from django.http import QueryDict
from django.urls import reverse

from accounts.models import Team, TeamFunction, User
from metrics import queries
from metrics.models import Movement, RetentionSnapshot
from metrics.queries import Scope
from metrics.recompute import accounts
from metrics.recompute.accounts import Inputs
from metrics.scoping import Visibility
from metrics.vocabulary import AM, CSM, MONTH, OWNER, TEAM, UNASSIGNED

from .forms import PeriodForm
from .templatetags.retention_format import period_label


def visible_snapshots(vis: Visibility):
    return vis.snapshots(RetentionSnapshot.objects.all())


@dataclass(frozen=True)
class ShownAccount:
    """An account row as a table shows it: names instead of ids."""

    customer_id: int
    customer_name: str
    external_id: str
    product: str
    starting_arr: object
    ending_arr: object
    amount: object
    movement: str
    movement_label: str
    csm_owner: str
    csm_team: str
    am_owner: str
    am_team: str
    # Its lines in other currencies (accounts.NativeAmount), on s-1 and on l, when asked for.
    native_start: Sequence = ()
    native_end: Sequence = ()

    @property
    def change(self):
        return self.ending_arr - self.starting_arr


MOVEMENT_LABELS = dict(Movement.choices)


def shown_accounts(rows, figure=None) -> list[ShownAccount]:
    """Rows with their owners' emails and teams' names, fetched in one query each."""
    rows = list(rows)
    emails = dict(User.objects.filter(id__in={i for r in rows for i in (r.csm_owner_id, r.am_owner_id) if i}).values_list("id", "email"))
    teams = dict(Team.objects.filter(id__in={i for r in rows for i in (r.csm_team_id, r.am_team_id) if i}).values_list("id", "name"))
    return [
        ShownAccount(
            r.customer_id, r.customer_name, r.external_id, r.product, r.starting_arr, r.ending_arr, r.amount(figure) if figure else None,
            r.movement, MOVEMENT_LABELS.get(r.movement, r.movement),
            emails.get(r.csm_owner_id, UNASSIGNED), teams.get(r.csm_team_id, UNASSIGNED),
            emails.get(r.am_owner_id, UNASSIGNED), teams.get(r.am_team_id, UNASSIGNED),
        )  # fmt: skip
        for r in rows
    ]


def with_native_amounts(rows: list[ShownAccount], version: int, period) -> list[ShownAccount]:
    """Each account's lines in their own currency beside the converted amounts (one query)."""
    native = accounts.native_amounts(version, period, [(r.customer_id, r.product) for r in rows])
    if not native:
        return rows
    return [replace(row, native_start=native[key][0], native_end=native[key][1]) if key in native else row
            for row, key in ((row, (row.customer_id, row.product)) for row in rows)]  # fmt: skip


@dataclass
class PeriodPick:
    """The granularity and period a page shows, and the periods it could show instead."""

    granularity: str
    start: date | None = None
    end: date | None = None
    options: list[tuple[str, str]] = field(default_factory=list)  # (iso start, label)


def pick_period(params, snapshots, scope: Scope, default: str = MONTH) -> PeriodPick:
    """The period asked for, or by default the scope's last complete one of ``default``
    granularity (team and owner pages open on the trailing twelve months: a single month shows
    almost everyone at 100%)."""
    granularity, asked_start = PeriodForm(params).asked()
    granularity = granularity or default
    available = queries.periods(snapshots, scope, granularity)
    pick = PeriodPick(granularity, options=[(s.isoformat(), period_label(granularity, s, e)) for s, e, _ in available])
    if not available:
        return pick
    by_start: dict[date | None, tuple[date, date]] = {s: (s, e) for s, e, _ in available}
    complete = [(s, e) for s, e, partial in available if not partial]
    pick.start, pick.end = by_start.get(asked_start) or (complete or list(by_start.values()))[0]
    return pick


def period_query(pick: PeriodPick, **extra) -> str:
    """The query string that keeps a page's period when following a link to another page."""
    params = QueryDict(mutable=True)
    params.update({**extra, "granularity": pick.granularity})
    if pick.start:
        params["period"] = pick.start.isoformat()
    return "?" + params.urlencode()


@dataclass
class ScopeItem:
    """A row of a table of teams, owners or slices: its label, its page, its figures, and with
    yearly targets (outlook) the target of the accountable figure and the gap to it."""

    label: str
    url: str
    row: RetentionSnapshot | None
    scope: Scope
    owner: User | None = None
    target: object = None
    gap: object = None


def team_items(snapshots, pick: PeriodPick, role: str) -> list[ScopeItem]:
    """Each team's row of a period for one role, linked to its team page (none for unassigned)."""
    assert pick.start is not None  # only with a row of the period
    rows = queries.snapshot_rows(snapshots, TEAM, pick.granularity, pick.start, role=role)
    teams = {t.name: t for t in Team.objects.filter(name__in=[r.scope_key for r in rows])}
    items = []
    for r in rows:
        team = teams.get(r.scope_key)
        url = reverse("team", args=[team.pk]) + period_query(pick, role=role) if team else ""
        items.append(ScopeItem(r.scope_key, url, r, Scope.team(team, role)))
    return items


def other_role(role: str) -> str:
    return AM if role == CSM else CSM


def default_role_for_team(team: Team) -> str:
    return AM if team.function == TeamFunction.ACCOUNT_MANAGEMENT else CSM


def sort_owner_rows(rows: list[ScopeItem], sort: str) -> list[ScopeItem]:
    """Sort by a column (``-`` first for descending); owners with no figure go last either way."""
    name = sort.lstrip("-")
    descending = sort.startswith("-")
    if name == "owner":
        return sorted(rows, key=lambda r: r.owner.display_name.lower() if r.owner else "", reverse=descending)
    def value(item):
        if name == "gap":
            return item.gap
        return getattr(item.row, name) if item.row is not None else None

    with_value = [r for r in rows if value(r) is not None]
    without = [r for r in rows if value(r) is None]
    return sorted(with_value, key=value, reverse=descending) + without


def roles_with_rows(snapshots, scope_type: str, key: str) -> set[str]:
    """The roles (csm, am) a team or owner has retention rows for."""
    return set(snapshots.filter(scope_type=scope_type, scope_key=key).values_list("role", flat=True).distinct())


def team_owner_rows(vis: Visibility, snapshots, team: Team, role: str, pick: PeriodPick) -> list[ScopeItem]:
    """The team's owners in the period (members on its first day) with their rows, if they have one."""
    if not pick.start:
        return []
    emails = queries.owners_of_team(snapshots, Inputs.current().version, team.pk, role, pick.granularity, pick.start)
    owners = list(vis.users().filter(email__in=emails))
    by_email = {
        r.scope_key: r
        for r in snapshots.filter(
            scope_type=OWNER, role=role, granularity=pick.granularity, period_start=pick.start,
            scope_key__in=[u.email for u in owners],
        )
    }  # fmt: skip
    return [ScopeItem(u.email, "", by_email.get(u.email), Scope.owner(u, role), owner=u) for u in owners]


