"""Read-only pages: company, team and owner views, and the accounts behind every figure.

Every view narrows what it reads through ``Visibility`` first. Figures come from the
precomputed snapshots (``metrics.queries``); the accounts behind them are answered on demand
from the inputs those snapshots were computed from (``metrics.recompute.accounts``), for the
one period and scope shown.
"""

import csv
import io
from datetime import date

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from accounts.models import Team, User
from closing.reported import apply_reported, close_of
from metrics.scoping import visibility
from metrics import queries
from metrics.export import csv_cell
from metrics.vocabulary import (
    AM, COMPANY, CSM, MONTH, OWNER, QUARTER, ROLE_LABELS, ROLES, SCOPE_TYPES, SLICES, TEAM, TTM, UNASSIGNED, YEAR,
)
from metrics.models import Granularity, Movement
from metrics.queries import FIGURES, Scope
from metrics.recompute import accounts
from metrics.recompute.accounts import Inputs

from outlook.targets import attach_gaps, rank_items

from .caching import cached_by_generation
from .definitions import FIGURE_DEFINITIONS, topics
from .charts import TrendLine, bridge_chart, standard_trend, trend_chart
from .forms import required_period
from .links import scope_from_params
from . import selectors
from .selectors import period_query
from .reconciling import SHOWN_CASES, cases_beside

SLICE_LABELS = {scope_type: SCOPE_TYPES[scope_type] for scope_type in SLICES}
HEADLINE_PERIODS = (("Last complete month", MONTH), ("Last complete quarter", QUARTER), ("Trailing twelve months", TTM))


@login_required
def home(request):
    """Each role's natural view: the company, the team it leads, or its own book."""
    vis = visibility(request)
    if vis.can_see_company():
        return redirect("company")
    team = vis.teams().order_by("name").first()
    if team is not None:
        return redirect("team", team_id=team.pk)
    return redirect("owner", user_id=request.user.pk)


@login_required
@cached_by_generation
def company(request):
    vis = visibility(request)
    if not vis.can_see_company():
        raise PermissionDenied("The company view is for executives and admins.")
    snapshots = selectors.visible_snapshots(vis)
    slice_type = request.GET.get("slice", "")
    slice_type = slice_type if slice_type in SLICES else ""
    slice_values = queries.scope_keys(snapshots, slice_type) if slice_type else []
    slice_key = request.GET.get("key", "")
    slice_key = slice_key if slice_key in slice_values else ""
    scope = Scope(slice_type, slice_key) if slice_key else Scope.company()
    pick = selectors.pick_period(request.GET, snapshots, scope)
    row = queries.snapshot(snapshots, scope, pick.granularity, pick.start) if pick.start else None

    team_tables, slice_rows = [], []
    if row and scope.type == COMPANY:
        team_tables = [
            {"label": ROLE_LABELS[role], "testid": f"teams-{role}", "items": rank_items(request, selectors.team_items(snapshots, pick, role), ACCOUNTABLE[role], lambda i: i.label)} for role in ROLES
        ]
    if row and slice_type and not slice_key:
        slice_rows = [
            selectors.ScopeItem(r.scope_key, period_query(pick, slice=slice_type, key=r.scope_key), r, Scope(slice_type, r.scope_key))
            for r in queries.snapshot_rows(snapshots, slice_type, pick.granularity, pick.start)
        ]
    headline = [(label, queries.last_complete(snapshots, scope, g)) for label, g in HEADLINE_PERIODS]
    # Closed periods show their reported figures (SPEC section 9), the live ones a click away.
    apply_reported([row, *(r for _, r in headline), *(i.row for t in team_tables for i in t["items"]), *(i.row for i in slice_rows)])
    context = {
        "scope": scope,
        "title": f"{SLICE_LABELS[slice_type]}: {slice_key}" if slice_key else "Company",
        "period_close": close_of(pick.granularity, pick.start),
        "show_report_link": vis.can_see_restatements(),
        "can_close": vis.can_close_periods() and scope.type == COMPANY and pick.granularity in (MONTH, QUARTER, YEAR),
        "period_complete": bool(row) and not row.partial,
        "pick": pick,
        "row": row,
        "headline": headline,
        "team_tables": team_tables,
        "granularities": Granularity.choices,
        "keep": {},
        "slice_labels": SLICE_LABELS,
        "slice_label": SLICE_LABELS.get(slice_type, ""),
        "slice_type": slice_type,
        "slice_key": slice_key,
        "slice_values": slice_values,
        "slice_rows": slice_rows,
        "has_data": snapshots.filter(scope_type=COMPANY).exists(),
        "trend": trend_chart(snapshots, standard_trend(snapshots, scope)),
        "bridge": bridge_chart(row, scope) if row else None,
        "beside": cases_beside(vis, scope, pick, row, Inputs.current(), limit=SHOWN_CASES) if scope.type == COMPANY else None,
        "arr_today": company_arr_today() if scope.type == COMPANY else None,
    }
    return render(request, "web/company.html", context)


def company_arr_today():
    """(ARR today at today's rates, the day), when some lines are in other currencies."""
    inputs = Inputs.current()
    if not inputs.version:
        return None
    total = accounts.arr_today(inputs.version, inputs.as_of)
    return None if total is None else {"amount": total, "day": inputs.as_of}


# Team view columns per role: CSMs answer for GRR, account managers for NRR and expansion.
TEAM_COLUMNS = {
    CSM: [
        ("starting_arr", "Starting ARR"), ("churn", "Churn"), ("contraction", "Contraction"), ("grr", "GRR"),
        ("nrr", "NRR"), ("ending_arr", "Ending ARR"), ("logos_churned", "Churned logos"),
    ],
    AM: [
        ("starting_arr", "Starting ARR"), ("upsell", "Upsell"), ("cross_sell", "Cross-sell"), ("expansion", "Expansion"),
        ("nrr", "NRR"), ("grr", "GRR"), ("ending_arr", "Ending ARR"),
    ],
}  # fmt: skip
ACCOUNTABLE = {CSM: "grr", AM: "nrr"}


def sort_headers(columns, sort: str, pick: selectors.PeriodPick, role: str) -> list[dict]:
    """Column headers that sort the owners table; a second click reverses the order."""
    headers = []
    for name, label in columns:
        state = "asc" if sort == name else "desc" if sort == f"-{name}" else ""
        next_sort = f"-{name}" if state == "asc" else name
        url = period_query(pick, role=role, sort=next_sort)
        headers.append({"name": name, "label": label, "url": url, "state": state})
    return headers


@login_required
@cached_by_generation
def team(request, team_id: int):
    vis = visibility(request)
    team = get_object_or_404(vis.teams(), pk=team_id)
    role = request.GET.get("role", "")
    role = role if role in ROLES else selectors.default_role_for_team(team)
    snapshots = selectors.visible_snapshots(vis)
    scope = Scope.team(team, role)
    pick = selectors.pick_period(request.GET, snapshots, scope, default=TTM)
    row = queries.snapshot(snapshots, scope, pick.granularity, pick.start) if pick.start else None

    owner_rows = selectors.team_owner_rows(vis, snapshots, team, role, pick)
    apply_reported([row, *(item.row for item in owner_rows)])
    # With yearly targets (outlook), owners rank by their gap to the accountable figure's target.
    has_gaps = attach_gaps(request, owner_rows, ACCOUNTABLE[role])
    columns = [("owner", "Owner"), *TEAM_COLUMNS[role], *([("gap", f"Gap to {ACCOUNTABLE[role].upper()} target")] if has_gaps else [])]
    sort = request.GET.get("sort", "gap" if has_gaps else "owner")
    if sort.lstrip("-") not in dict(columns):
        sort = "owner"
    context = {
        "team": team,
        "role": role,
        "role_label": ROLE_LABELS[role],
        "accountable": ACCOUNTABLE[role],
        "period_close": close_of(pick.granularity, pick.start),
        "show_report_link": vis.can_see_restatements(),
        "other_role": selectors.other_role(role) if selectors.other_role(role) in selectors.roles_with_rows(snapshots, TEAM, team.name) else "",
        "other_role_label": ROLE_LABELS[selectors.other_role(role)],
        "scope": scope,
        "pick": pick,
        "row": row,
        "granularities": Granularity.choices,
        "keep": {"role": role, "sort": sort},
        "headers": sort_headers(columns, sort, pick, role),
        "owner_query": period_query(pick, role=role),
        "other_role_query": period_query(pick, role=selectors.other_role(role)),
        "owner_rows": selectors.sort_owner_rows(owner_rows, sort),
        "beside": cases_beside(vis, scope, pick, row, Inputs.current(), limit=SHOWN_CASES),
        "trend": trend_chart(snapshots, standard_trend(snapshots, scope)),
        "bridge": bridge_chart(row, scope) if row else None,
    }
    return render(request, "web/team.html", context)


@login_required
@cached_by_generation
def owner(request, user_id: int):
    vis = visibility(request)
    user = get_object_or_404(vis.users(), pk=user_id)
    snapshots = selectors.visible_snapshots(vis)
    roles = selectors.roles_with_rows(snapshots, OWNER, user.email)
    role = request.GET.get("role", "")
    role = role if role in ROLES else AM if roles == {AM} else CSM
    scope = Scope.owner(user, role)
    pick = selectors.pick_period(request.GET, snapshots, scope, default=TTM)
    row = queries.snapshot(snapshots, scope, pick.granularity, pick.start) if pick.start else None

    apply_reported([row])
    book, movers, cases, team, team_page = [], [], None, None, False
    if pick.start:
        inputs, visible = Inputs.current(), accounts.Visible.of(vis)
        period = inputs.period(pick.granularity, pick.start)
        book = selectors.shown_accounts(accounts.account_rows(inputs.version, period, scope, figure="starting_arr", visible=visible, limit=None))
        movers = selectors.shown_accounts(accounts.top_movers(inputs.version, period, scope, visible=visible))
        cases = cases_beside(vis, scope, pick, row, inputs)
        team = vis.benchmark_team(queries.team_of_owner(inputs.version, user.pk, pick.start))
        team_page = team is not None and vis.may_open_team(team.pk)
    lines = standard_trend(snapshots, scope)
    if team is not None:
        team_scope = Scope.team(team, role)
        lines += [
            TrendLine(f"{team.name} NRR (TTM)", team_scope, TTM, "nrr", "dashed"),
            TrendLine(f"{team.name} GRR (TTM)", team_scope, TTM, "grr", "dashed"),
        ]
    context = {
        "owner": user,
        "owns_nothing": not roles,
        "is_self": user.pk == request.user.pk,
        "own_teams": list(vis.teams().filter(id__in=vis.led_team_ids).order_by("name")) if not roles and user.pk == request.user.pk else [],
        "period_close": close_of(pick.granularity, pick.start),
        "show_report_link": vis.can_see_restatements(),
        "granularities": Granularity.choices,
        "keep": {"role": role},
        "role": role,
        "role_label": ROLE_LABELS[role],
        "other_role": selectors.other_role(role) if selectors.other_role(role) in roles else "",
        "other_role_label": ROLE_LABELS[selectors.other_role(role)],
        "other_role_query": period_query(pick, role=selectors.other_role(role)),
        "scope": scope,
        "pick": pick,
        "row": row,
        "team": team,
        "team_page": team_page,
        "book": book,
        "movers": movers,
        "beside": cases,
        "trend": trend_chart(snapshots, lines),
        "bridge": bridge_chart(row, scope) if row else None,
    }
    return render(request, "web/owner.html", context)


# --- the accounts behind a figure ----------------------------------------------------------

CSV_COLUMNS = [
    "customer", "external_id", "product", "starting_arr", "ending_arr", "amount", "movement",
    "csm_owner", "csm_team", "am_owner", "am_team",
]  # fmt: skip


def scope_title(scope: Scope) -> str:
    if scope.type == COMPANY:
        return "Company"
    if scope.type in (TEAM, OWNER):
        return f"{scope.type.capitalize()} {scope.key} ({ROLE_LABELS[scope.role]})"
    return f"{SLICE_LABELS[scope.type]}: {scope.key}"


DRILL_PAGE_SIZE = 100
# Sortable columns; the change column sorts by size (largest change first, either way, by default).
DRILL_SORTS = {"name": "Customer", "starting_arr": "Starting ARR", "ending_arr": "Ending ARR", "abs_change": "Change", "movement": "Movement"}
DRILL_DEFAULT_SORT = "-abs_change"
SEARCH_MAX = 100


@login_required
@cached_by_generation
def drilldown(request):
    vis = visibility(request)
    scope = scope_from_params(vis, request.GET)
    granularity, period_start = required_period(request.GET)
    figure_name = request.GET.get("figure", "")
    if figure_name and figure_name not in FIGURES:
        raise Http404("Unknown figure.")
    figure = FIGURES.get(figure_name)
    movement = request.GET.get("movement", "")
    if movement and movement not in Movement.values:
        raise Http404("Unknown movement.")
    sort = request.GET.get("sort", DRILL_DEFAULT_SORT)
    if sort.lstrip("-") not in DRILL_SORTS and sort.lstrip("-") != "change":
        sort = DRILL_DEFAULT_SORT
    search = request.GET.get("q", "").strip()[:SEARCH_MAX]

    inputs = Inputs.current()
    period = inputs.period(granularity, period_start)
    filters = accounts.Filters(search=search) if search else None
    # A closed period's figures are the reported ones: its accounts, by default, as they were at the
    # close (from the inputs kept then); ?view=live for the accounts behind the live figure.
    period_close = close_of(granularity, period_start)
    showing_reported = period_close is not None and period_close.input_version and request.GET.get("view") != "live"
    if showing_reported:
        inputs = Inputs(period_close.input_version, period_close.as_of)
        period = inputs.period(granularity, period_start)
    ask = dict(figure=figure, movement=movement or None, visible=accounts.Visible.of(vis), filters=filters)
    if request.GET.get("format") == "csv":
        return drilldown_csv(accounts.iter_account_rows(inputs.version, period, scope, sort=sort, **ask), scope, period, figure)
    snapshot = queries.snapshot(selectors.visible_snapshots(vis), scope, granularity, period_start)
    apply_reported([snapshot])
    if snapshot is not None and period_close is not None and not showing_reported:
        snapshot = getattr(snapshot, "live", snapshot)  # the live figure beside the live accounts
    page = max(_int(request.GET.get("page"), 1), 1)
    rows, totals = accounts.account_page(inputs.version, period, scope, sort=sort, limit=DRILL_PAGE_SIZE,
                                         offset=(page - 1) * DRILL_PAGE_SIZE, **ask)  # fmt: skip
    pages = max(1, -(-totals.accounts // DRILL_PAGE_SIZE))
    if page > pages:  # past the end: the last page
        page = pages
        rows, totals = accounts.account_page(inputs.version, period, scope, sort=sort, limit=DRILL_PAGE_SIZE,
                                             offset=(page - 1) * DRILL_PAGE_SIZE, **ask)  # fmt: skip
    context = {
        "scope": scope,
        "scope_title": scope_title(scope),
        "granularity": granularity,
        "period_start": period_start,
        "period_end": period.end,
        "figure": figure,
        "figure_value": figure.of(snapshot) if figure and snapshot else None,
        "period_close": period_close,
        "showing_reported": showing_reported,
        "live_url": f"{request.path}?{_query(request, view='live', page=None)}",
        "reported_url": f"{request.path}?{_query(request, view=None, page=None)}",
        "snapshot": snapshot,
        "movement": movement,
        "movement_choices": [(v, label) for v, label in Movement.choices if not figure or v in figure.movements],
        "search": search,
        "rows": selectors.with_native_amounts(selectors.shown_accounts(rows, figure), inputs.version, period),
        "totals": totals,
        "page": page,
        "pages": pages,
        "page_links": _page_links(request, page, pages),
        "sort_headers": _drill_sort_headers(request, sort),
        "show_product": scope.type == "product",
        "csv_url": f"{request.path}?{_query(request, format='csv', page=None)}",
        "back_url": back_url(scope, granularity, period_start),
        "currency_note": currency_note(inputs.version, period),
    }
    return render(request, "web/drilldown.html", context)


def currency_note(version: int, period) -> str:
    """What the amounts are in, when some lines are in other currencies (SPEC section 7)."""
    rates = accounts.rates_on(version, period.start)
    if not rates:
        return ""
    return (f"Amounts in {settings.REPORTING_CURRENCY}. Lines in other currencies convert at the rates in force on "
            f"{period.start:%Y-%m-%d}, the period's first day, at both ends (constant currency), so a move of a rate "
            f"is never expansion or contraction.")


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _query(request, **changes) -> str:
    """The request's query string with some parameters changed (None drops one)."""
    params = request.GET.copy()
    for name, value in changes.items():
        params.pop(name, None)
        if value is not None:
            params[name] = value
    return params.urlencode()


def _page_links(request, page: int, pages: int) -> dict:
    link = lambda n: f"?{_query(request, page=str(n))}"  # noqa: E731
    return {"previous": link(page - 1) if page > 1 else "", "next": link(page + 1) if page < pages else ""}


def _drill_sort_headers(request, sort: str) -> dict[str, dict]:
    """Each sortable column's link (a second click reverses) and its state."""
    headers = {}
    for name, label in DRILL_SORTS.items():
        state = "asc" if sort == name else "desc" if sort == f"-{name}" else ""
        headers[name] = {"label": label, "state": state, "url": f"?{_query(request, sort=f'-{name}' if state == 'asc' else name, page=None)}"}
    return headers


def back_url(scope: Scope, granularity: str, period_start: date) -> str:
    """The page the figure came from, on the same period."""
    params = QueryDict(mutable=True)
    params.update({"granularity": granularity, "period": period_start.isoformat()})
    if scope.type in (TEAM, OWNER):
        if not scope.object_id:  # unassigned: listed on the company page
            return f"{reverse('company')}?{params.urlencode()}"
        params["role"] = scope.role
        return f"{reverse(scope.type, args=[scope.object_id])}?{params.urlencode()}"
    if scope.type != COMPANY:
        params.update({"slice": scope.type, "key": scope.key})
    return f"{reverse('company')}?{params.urlencode()}"


def drilldown_csv(rows, scope: Scope, period, figure) -> StreamingHttpResponse:
    """Every account behind the figure, streamed (a whole company's rows never sit in memory)."""
    figure_part = f"-{figure.name}" if figure else ""
    key_part = f"-{scope.key}" if scope.key else ""
    filename = f"accounts-{scope.type}{key_part}-{period.granularity}-{period.start.isoformat()}{figure_part}.csv"
    filename = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in filename)
    emails = dict(User.objects.values_list("id", "email"))
    teams = dict(Team.objects.values_list("id", "name"))

    def lines():
        out = io.StringIO()
        writer = csv.writer(out)

        def flush(cells):
            writer.writerow([csv_cell(c) for c in cells])
            text = out.getvalue()
            out.seek(0)
            out.truncate()
            return text

        yield flush(CSV_COLUMNS)
        for m in rows:
            amount = m.amount(figure) if figure else None
            yield flush([
                m.customer_name, m.external_id, m.product, f"{m.starting_arr:.2f}", f"{m.ending_arr:.2f}",
                "" if amount is None else f"{amount:.2f}", m.movement,
                emails.get(m.csm_owner_id, UNASSIGNED), teams.get(m.csm_team_id, UNASSIGNED),
                emails.get(m.am_owner_id, UNASSIGNED), teams.get(m.am_team_id, UNASSIGNED),
            ])  # fmt: skip

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def figures_help(request):
    """How figures are computed: every figure's definition and the rules behind the pages."""
    figures = [(name, FIGURES[name].label, text) for name, text in FIGURE_DEFINITIONS.items()]
    return render(request, "web/figures_help.html", {"figures": figures, "topics": topics()})
