"""A page for every customer: attributes, contract lines on a timeline with each line's renewal
status, ARR per product over time, owners by role with dates, churn and contraction cases, its
figures in a period, and the risk marks (history and, for those who may mark, the form, which posts
to ``outlook:mark_risk``).

Who may open it is ``Visibility.customers`` (metrics.scoping): another book's customer is a 404.
Sums of lines (ARR today, the chart) are in the reporting currency, each line converted at the rate
in force on the day shown (``metrics.engine.Rates``, SPEC section 7).
"""

from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, render
from django.utils.dateparse import parse_date

from accounts.models import Team, User
from metrics import currency
from metrics.models import ChurnCase, Customer, FxRate, Granularity, Movement
from metrics.queries import recompute_status
from metrics.recompute import accounts, triggers
from metrics.recompute.accounts import Filters, Inputs
from metrics.recompute.loading import periods as all_periods
from metrics.scoping import visibility
from metrics.vocabulary import UNASSIGNED
from outlook.customer_risk import risk_sections
from web import money
from web.templatetags.retention_format import period_label

from . import books, edits
from .timeline import Line, arr_by_month, arr_on, timeline_bars

PAGE_SIZE = 50


def cents(value) -> int:
    return int(value * 100)


@login_required
def customers(request):
    """The customers the user may see, searchable by name or CRM id."""
    vis = visibility(request)
    qs = vis.customers(Customer.objects.all()).order_by("name", "external_id")
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(external_id__icontains=q))
    page = Paginator(qs.only("id", "name", "external_id", "segment", "region"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "operations/customers.html", {"page": page, "q": q})


def period_choices(granularity: str) -> list:
    """Every period of a granularity the figures cover, newest first."""
    status, _ = recompute_status()
    if status is None or status.as_of is None:
        return []
    found = [p for p in all_periods(status.first_month, status.as_of) if p.granularity == granularity]
    return sorted(found, key=lambda p: p.start, reverse=True)


@login_required
def customer(request, pk: int):
    vis = visibility(request)
    return customer_page(request, get_object_or_404(vis.customers(Customer.objects.all()), pk=pk))


def customer_page(request, customer: Customer, risk_form=None):
    """The page of a customer the viewer may see; ``risk_form`` a bound risk form with its errors."""
    vis = visibility(request)
    today = triggers.today()
    line_rows = list(customer.lines.order_by("start_date", "product", "external_id"))
    lines = [Line(r.external_id, r.product, r.start_date, r.end_date, cents(r.arr), r.currency) for r in line_rows]
    bars, first, last = timeline_bars(lines, today)
    try:
        rates = FxRate.live_rates()
        months, per_product = arr_by_month(lines, today, rates)
        arr_today = Decimal(arr_on(lines, today, rates)).scaleb(-2)
        missing_rate = ""
    except ValueError as error:  # a line in a currency with no rate: never summed unconverted
        months, per_product, arr_today, missing_rate = [], {}, None, str(error)
    chart = {
        "kind": "arr",
        "labels": [d.strftime("%Y-%m") for d in months],
        "money": money.chart_format(),
        "datasets": [{"label": p, "data": [c / 100 for c in values]} for p, values in per_product.items()],
    }
    risk = risk_sections(vis, customer, today, risk_form)

    assignments = list(customer.assignments.select_related("user").order_by("role", "-start_date"))
    visible_owners = set(vis.users().filter(id__in={a.user_id for a in assignments}).values_list("id", flat=True))
    cases = list(
        ChurnCase.objects.filter(customer=customer)
        .select_related("primary_reason", "secondary_reason_1", "secondary_reason_2", "csm_owner", "am_owner")
        .order_by("-date")
    )
    openable_cases = set(vis.cases(ChurnCase.objects.filter(customer=customer)).values_list("id", flat=True))

    # Its figures in the period picked.
    granularity = request.GET.get("granularity", "month")
    granularity = granularity if granularity in Granularity.values else "month"
    choices = period_choices(granularity)
    try:
        asked = parse_date(request.GET.get("period", ""))
    except ValueError:
        asked = None
    complete = [p for p in choices if not p.partial]
    period = next((p for p in choices if p.start == asked), None) or (complete or choices or [None])[0]
    figures, names = [], {}
    if period is not None:
        inputs = Inputs.current()
        rows = accounts.account_rows(
            inputs.version,
            inputs.period(granularity, period.start),
            None,
            filters=Filters(customer_ids=frozenset({customer.pk})),
            limit=None,
        )
        figures = sorted(rows, key=lambda r: (r.product != "", r.product))
        user_ids = {i for r in rows for i in (r.csm_owner_id, r.am_owner_id) if i}
        team_ids = {i for r in rows for i in (r.csm_team_id, r.am_team_id) if i}
        names = {
            "users": dict(User.objects.filter(id__in=user_ids).values_list("id", "email")),
            "teams": dict(Team.objects.filter(id__in=team_ids).values_list("id", "name")),
        }
    movement_labels = dict(Movement.choices)
    figure_rows = [
        {
            "row": r,
            "movement": movement_labels.get(r.movement, r.movement),
            "change": r.ending_arr - r.starting_arr,
            "csm": names["users"].get(r.csm_owner_id or 0, UNASSIGNED),
            "csm_team": names["teams"].get(r.csm_team_id or 0, UNASSIGNED),
            "am": names["users"].get(r.am_owner_id or 0, UNASSIGNED),
            "am_team": names["teams"].get(r.am_team_id or 0, UNASSIGNED),
        }
        for r in figures
    ]

    context = {
        "customer": customer,
        "lines": line_rows,
        "line_renewals": [(r, risk["renewals_by_line"].get(r.pk)) for r in line_rows],  # each line with its renewal
        "bars": bars,
        "first": first,
        "last": last,
        "chart": chart,
        "arr_today": arr_today,
        "missing_rate": missing_rate,
        "reporting_currency": currency.reporting_currency(),
        "assignments": [{"a": a, "visible": a.user_id in visible_owners} for a in assignments],
        "cases": [{"case": c, "openable": c.pk in openable_cases} for c in cases],
        "granularity": granularity,
        "granularities": Granularity.choices,
        "period": period,
        "period_options": [(p.start.isoformat(), period_label(granularity, p.start, p.end)) for p in choices],
        "figure_rows": figure_rows,
        "can_assign": books.can_assign(vis, customer),
        "assign_form": books.AssignForm(vis, customer, prefix="assign") if books.can_assign(vis, customer) else None,
        "today": today,
        "can_edit": vis.is_admin,
        **risk,
    }
    context["history"], context["history_total"] = edits.customer_history(customer)
    return render(request, "operations/customer.html", context)
