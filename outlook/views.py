"""Outlook pages: renewals (and, by part, risk, forecast, targets, cohorts).

Views are thin: what the viewer may see comes from ``metrics.scoping.Visibility``, the rules
from the pure functions of this app. An id of a team or owner the viewer may not see is a 404.
"""

from __future__ import annotations

import csv
from typing import cast

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from accounts.models import User
from metrics.export import csv_cell
from metrics.recompute import triggers
from metrics.scoping import Visibility, visibility
from metrics.vocabulary import CSM

from .cohort_pages import cohort_choices, cohort_csv_records, cohort_table
from .forms import RenewalFilter
from .renewals import STATUS_LABELS, attribute_values, load_renewals, summarize

ROLE_LABELS = {"csm": "CSM", "am": "AM"}
RENEWAL_COLUMNS = [
    "end_date",
    "customer_external_id",
    "customer",
    "product",
    "line_external_id",
    "arr",
    "status",
    "risk",
    "expected_loss",
    "csm_owner",
    "csm_team",
    "am_owner",
    "am_team",
]


def renewal_record(r) -> dict:
    """One renewal as the CSV and the API give it (money as plain two-decimal strings)."""
    return {
        "end_date": r.end_date.isoformat(),
        "customer_external_id": r.customer_external_id,
        "customer": r.customer_name,
        "product": r.product,
        "line_external_id": r.line_external_id,
        "arr": f"{r.arr:.2f}",
        "status": r.status,
        "risk": r.risk,
        "expected_loss": "" if r.expected_loss is None else f"{r.expected_loss:.2f}",
        "csm_owner": r.owner_email("csm"),
        "csm_team": r.team_name("csm"),
        "am_owner": r.owner_email("am"),
        "am_team": r.team_name("am"),
    }


class _Echo:
    def write(self, value):
        return value


def renewals_csv(renewals, filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(RENEWAL_COLUMNS)
        for r in renewals:
            record = renewal_record(r)
            yield writer.writerow([csv_cell(record[c]) for c in RENEWAL_COLUMNS])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def scoped_filter(vis: Visibility, data) -> RenewalFilter:
    """The filter form; 404 for a team or owner id the viewer may not see."""
    from metrics.models import Assignment, Customer

    for name, visible in (("team", vis.teams()), ("owner", vis.users())):
        raw = data.get(name)
        if raw and (not raw.isdigit() or not visible.filter(pk=int(raw)).exists()):
            raise Http404(f"No such {name}.")
    teams = list(vis.teams())
    owners = list(vis.users().filter(id__in=Assignment.objects.values("user_id")).order_by("email"))
    values = attribute_values(vis.customers(Customer.objects.all()))
    return RenewalFilter(data, teams=teams, owners=owners, today=triggers.today(), attribute_values=values)


@login_required
def renewals(request):
    vis = visibility(request)
    form = scoped_filter(vis, request.GET)
    rows, summaries, f = [], None, None
    if form.is_valid():
        f = form.cleaned_data
        rows = load_renewals(
            vis,
            f["start"],
            f["end"],
            triggers.today(),
            settings.RENEWAL_GRACE_DAYS,
            role=f["role"],
            team_id=f["team"],
            owner_id=f["owner"],
            status=f["status"],
            attributes=f["attributes"],
        )
        if request.GET.get("format") == "csv":
            return renewals_csv(rows, f"renewals-{f['start']:%Y-%m-%d}-{f['end']:%Y-%m-%d}")
        summaries = summarize(rows, f["role"])
    query = request.GET.copy()
    query["format"] = "csv"
    return render(
        request,
        "outlook/renewals.html",
        {
            "form": form,
            "f": f,
            "rows": rows,
            "summaries": summaries,
            "grace_days": settings.RENEWAL_GRACE_DAYS,
            "statuses": STATUS_LABELS,
            "csv_url": f"?{query.urlencode()}",
            "role": f["role"] if f else "csm",
            "role_label": ROLE_LABELS[f["role"] if f else "csm"],
        },
    )


# --- marking a customer's risk (the form is on the customer page, operations:customer) --------


@login_required
@require_POST
def mark_risk(request, customer_id: int):
    from django.contrib import messages
    from django.core.exceptions import PermissionDenied
    from django.db import transaction
    from django.shortcuts import get_object_or_404, redirect
    from django.urls import reverse

    from metrics.models import Customer
    from operations.customer_views import customer_page

    from .forms import RiskMarkForm
    from .models import RiskMark

    vis = visibility(request)
    the_customer = get_object_or_404(vis.customers(Customer.objects.all()), pk=customer_id)
    today = triggers.today()
    if not vis.can_mark_risk(the_customer.pk, today):
        raise PermissionDenied("Only the account's owners, their team leads and admins mark its risk.")
    form = RiskMarkForm(request.POST, today=today)
    if not form.is_valid():
        return customer_page(request, the_customer, risk_form=form)
    with transaction.atomic():
        RiskMark.objects.create(customer=the_customer, recorded_by=request.user, **form.cleaned_data)
    messages.success(request, "Risk mark saved.")
    return redirect(f"{reverse('operations:customer', args=[the_customer.pk])}#risk")


# --- the at-risk accounts behind a forecast ---------------------------------------------------


@login_required
def forecast_accounts(request):
    from django.urls import reverse

    from metrics.recompute.accounts import Inputs
    from web.links import scope_from_params
    from web.selectors import visible_snapshots
    from web.views import scope_title

    from .forecasting import FORECAST_GRANULARITIES, risky_marks, scope_forecast

    vis = visibility(request)
    scope = scope_from_params(vis, request.GET)
    if scope.type not in ("company", "team", "owner"):
        raise Http404("Forecasts are for the company, a team or an owner.")
    labels = dict(FORECAST_GRANULARITIES)
    granularity = request.GET.get("granularity", "quarter")
    if granularity not in labels:
        raise Http404("Forecasts are for the current quarter or year.")
    marks = risky_marks()
    found = scope_forecast(visible_snapshots(vis), scope, granularity, labels[granularity], marks=marks)
    counted = {e.account.customer_id for e in found.forecast.effects} if found else set()
    not_counted = []
    if found:
        not_counted = sorted(
            ((cid, found.names[cid], found.marks[cid]) for cid in found.marks if cid not in counted),
            key=lambda x: x[1][0],
        )
    if scope.type == "company":
        back = reverse("company")
    elif scope.object_id:
        back = f"{reverse(scope.type, args=[scope.object_id])}?role={scope.role}"
    else:
        back = reverse("company")
    return render(
        request,
        "outlook/forecast.html",
        {
            "found": found,
            "scope": scope,
            "scope_title": scope_title(scope),
            "granularity": granularity,
            "label": labels[granularity],
            "not_counted": not_counted,
            "back": back,
            "as_of": Inputs.current().as_of,
        },
    )


# --- targets ----------------------------------------------------------------------------------


@login_required
def targets(request):
    from django.contrib import messages
    from django.core.exceptions import PermissionDenied
    from django.db import transaction
    from django.shortcuts import redirect

    from metrics.importing import ImportRejected

    from .forms import TargetForm, TargetUploadForm
    from .models import Target
    from .targets import fiscal_year_of, import_targets

    vis = visibility(request)
    if not vis.is_admin:
        raise PermissionDenied("Only admins set targets.")
    current_year = fiscal_year_of(triggers.today(), settings.FISCAL_YEAR_START_MONTH)
    try:
        year = int(request.GET.get("year", current_year))
    except ValueError:
        year = current_year
    form = TargetForm(initial={"fiscal_year": year, "scope_type": "company"})
    upload = TargetUploadForm()
    upload_errors = []
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "delete":
            Target.objects.filter(pk=request.POST.get("target")).delete()
            messages.success(request, "Target removed.")
            return redirect(f"{request.path}?year={year}")
        if action == "upload":
            upload = TargetUploadForm(request.POST, request.FILES)
            if upload.is_valid():
                try:
                    count = import_targets(upload.cleaned_data["file"].read(), by=request.user)
                except ImportRejected as rejected:
                    upload_errors = [str(e) for e in rejected.errors]
                    more = rejected.error_count - len(rejected.errors)
                    if more:
                        upload_errors.append(f"... and {more} more error(s)")
                else:
                    messages.success(request, f"{count} target(s) imported from targets.csv.")
                    return redirect(f"{request.path}?year={year}")
        else:
            form = TargetForm(request.POST)
            if form.is_valid():
                d = form.cleaned_data
                with transaction.atomic():
                    Target.objects.update_or_create(
                        fiscal_year=d["fiscal_year"],
                        scope_type=d["scope_type"],
                        team=d["team"],
                        user=d["owner"],
                        role=d["role"],
                        defaults={**form.ratios(), "updated_by": request.user},
                    )
                messages.success(request, "Target saved.")
                return redirect(f"{request.path}?year={d['fiscal_year']}")
    rows = Target.objects.filter(fiscal_year=year).select_related("team", "user", "updated_by")
    years = sorted(set(Target.objects.values_list("fiscal_year", flat=True)) | {current_year, year}, reverse=True)
    return render(
        request,
        "outlook/targets.html",
        {
            "rows": rows,
            "year": year,
            "years": years,
            "form": form,
            "upload": upload,
            "upload_errors": upload_errors,
            "start_month": settings.FISCAL_YEAR_START_MONTH,
        },
    )


# --- cohorts ----------------------------------------------------------------------------------

COHORT_METRICS = {"revenue": "Revenue retention", "logo": "Logo retention"}
COHORT_CSV_COLUMNS = [
    "granularity",
    "scope_type",
    "scope_key",
    "role",
    "cohort_start",
    "k",
    "measured_on",
    "customers",
    "paying",
    "base_arr",
    "arr",
    "revenue_retention",
    "logo_retention",
]


def default_cohort_scope(vis: Visibility):
    from metrics.queries import Scope
    from web.selectors import default_role_for_team

    if vis.sees_everything:
        return Scope.company()
    team = vis.teams().order_by("name").first()
    if team is not None:
        return Scope.team(team, default_role_for_team(team))
    return Scope.owner(cast(User, vis.user), CSM)  # signed in: the login decorator let it in


@login_required
def cohorts(request):
    from metrics.vocabulary import COMPANY, CUSTOMER_ATTRIBUTES, OWNER, PRODUCT, TEAM, UNASSIGNED
    from web.links import scope_from_params, scope_params
    from web.views import scope_title

    from .models import CohortRow, CohortStatus

    vis = visibility(request)
    if "pick" in request.GET:  # the scope chooser's choice is a query string of its own
        from django.shortcuts import redirect

        return redirect(f"{request.path}?{request.GET['pick']}")
    params = request.GET
    scope = scope_from_params(vis, params) if "scope" in params else default_cohort_scope(vis)
    if scope.type not in (COMPANY, TEAM, OWNER, *CUSTOMER_ATTRIBUTES, PRODUCT):
        # No tenure band: a cohort's tenure at column k is fixed by its month (k months), so a band
        # would only be a diagonal stripe of the company heatmap (the page's help says so).
        raise Http404(
            "Cohorts are for the company, a team, an owner, a segment, a region, an industry, a use case or a product."
        )
    granularity = params.get("granularity", "month")
    granularity = granularity if granularity in ("month", "quarter") else "month"
    metric = params.get("metric", "revenue")
    metric = metric if metric in COHORT_METRICS else "revenue"
    cohort_rows = CohortRow.objects.filter(
        granularity=granularity, scope_type=scope.type, scope_key=scope.key, role=scope.role
    )
    if params.get("format") == "csv":
        records = cohort_csv_records(cohort_rows)
        from api.csvstream import csv_response

        key = "".join(ch if ch.isalnum() else "_" for ch in scope.key)
        return csv_response(
            COHORT_CSV_COLUMNS, records, f"cohorts-{granularity}-{scope.type}{'-' + key if key else ''}"
        )
    table, width = cohort_table(cohort_rows, metric)
    choices = cohort_choices(vis, granularity)
    from urllib.parse import urlencode

    options = [
        {
            "label": label,
            "query": urlencode({**scope_params(s), "granularity": granularity, "metric": metric}),
            "selected": s == scope,
        }
        for label, s in choices
    ]
    here = {**scope_params(scope), "granularity": granularity, "metric": metric}
    return render(
        request,
        "outlook/cohorts.html",
        {
            "scope": scope,
            "scope_title": scope_title(scope)
            if scope.key != UNASSIGNED or scope.type not in (TEAM, OWNER)
            else f"{scope.type.capitalize()} unassigned",
            "granularity": granularity,
            "metric": metric,
            "metrics": COHORT_METRICS,
            "rows": table,
            "ks": range(width),
            "options": options,
            "here": here,
            "csv_url": "?" + urlencode({**here, "format": "csv"}),
            "switch": {name: "?" + urlencode({**here, "metric": name}) for name in COHORT_METRICS},
            "switch_granularity": {g: "?" + urlencode({**here, "granularity": g}) for g in ("month", "quarter")},
            "status": CohortStatus.objects.filter(pk=1).first(),
        },
    )


# --- the weekly digest: turning it off or on ---------------------------------------------------


@login_required
def digest_preference(request):
    from django.contrib import messages
    from django.shortcuts import redirect

    from .digest import build, recipients
    from .forms import DigestPreferenceForm
    from .models import DigestPreference

    preference = DigestPreference.objects.filter(user=request.user).first()
    wanted = preference.weekly_digest if preference else True
    if request.method == "POST":
        form = DigestPreferenceForm(request.POST)
        if form.is_valid():
            DigestPreference.objects.update_or_create(
                user=request.user, defaults={"weekly_digest": form.cleaned_data["weekly_digest"]}
            )
            messages.success(
                request,
                "The weekly digest is on." if form.cleaned_data["weekly_digest"] else "The weekly digest is off.",
            )
            return redirect("outlook:digest")
    form = DigestPreferenceForm(initial={"weekly_digest": wanted})
    eligible = recipients().filter(pk=request.user.pk).exists() or not wanted
    preview = build(request.user, triggers.today()) if eligible else None
    return render(
        request,
        "outlook/digest_preference.html",
        {"form": form, "wanted": wanted, "eligible": eligible, "preview": preview},
    )
