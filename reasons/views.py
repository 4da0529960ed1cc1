"""Churn reason pages: the recording queue, a case with its history, the Pareto, the taxonomy.

Every view scopes through metrics.scoping.Visibility: a case the viewer may not see is a 404,
recording without the right is a 403. Pages read ChurnCase rows; nothing is recomputed here.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Max, Min, Q, Sum
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from metrics.models import ChurnCase, ChurnReason
from metrics.pareto import ORDER_BY_LOST_ARR, pareto_rows, reason_coverage
from metrics.reasons import ReasonForm
from metrics.scoping import Visibility, visibility
from web import money as formatting

from .forms import CaseFilterForm, ChurnReasonForm

PAGE_SIZE = 50
CASE_COLUMNS = ("customer", "csm_owner", "am_owner", "csm_team", "am_team", "primary_reason")


def _recorder(request) -> Visibility:
    vis = visibility(request)
    if not vis.can_record_reasons():
        raise PermissionDenied("Only admins and team leads record churn reasons.")
    return vis


def _admin(request) -> Visibility:
    vis = visibility(request)
    if not vis.is_admin:
        raise PermissionDenied("Only admins manage the reason taxonomy.")
    return vis


@login_required
def queue(request):
    """Cases still without a primary reason that the viewer may record, newest first."""
    vis = _recorder(request)
    recordable = vis.recordable_cases(ChurnCase.objects.filter(void=False))
    waiting = (
        recordable.filter(primary_reason__isnull=True)
        .select_related(*CASE_COLUMNS)
        .order_by("-date", "-lost_arr", "customer__name")
    )
    page = Paginator(waiting, PAGE_SIZE).get_page(request.GET.get("page"))
    # The same coverage as the Pareto opens with: every case the viewer sees, every date.
    return render(
        request,
        "reasons/queue.html",
        {
            "page": page,
            "coverage": coverage_context(vis, vis.cases(ChurnCase.objects.filter(void=False))),
            "is_admin": vis.is_admin,
            "back": request.get_full_path(),
        },
    )


@login_required
def case_detail(request, pk):
    vis = visibility(request)
    case = get_object_or_404(vis.cases(ChurnCase.objects.select_related(*CASE_COLUMNS, "recorded_by")), pk=pk)
    can_record = vis.can_record_reason(case)
    back = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    form = None
    if request.method == "POST":
        if not can_record:
            raise PermissionDenied("Only admins and the leads of the case's team record its reasons.")
        form = ReasonForm(request.POST, case=case)
        if form.is_valid():
            form.save(request.user)
            messages.success(request, f"Reasons recorded for {case.customer.name} ({case.date:%Y-%m-%d}).")
            return redirect(back or reverse("reasons:case", args=[case.pk]))
    elif can_record:
        form = ReasonForm(case=case)
    history = case.history.select_related(
        "history_user", "primary_reason", "secondary_reason_1", "secondary_reason_2"
    ).order_by("-history_date", "-history_id")
    return render(request, "reasons/case.html", {"case": case, "form": form, "history": history, "next": back})


def scope_description(vis: Visibility) -> str:
    """Whose cases a viewer's coverage counts, in words."""
    if vis.sees_everything:
        return "every team and owner"
    teams = list(vis.teams().order_by("name").values_list("name", flat=True))
    if teams:
        return f"the cases of {', '.join(teams)} and your own"
    return "your own cases"


def coverage_context(vis: Visibility, cases, form=None) -> dict:
    """Reason coverage (SPEC section 3, ``metrics.pareto.reason_coverage``) with the scope and the
    date range it covers, as both the queue and the Pareto print it."""
    data = form.cleaned_data if form is not None and form.is_valid() else {}
    scope = scope_description(vis)
    narrowed = [
        f"{label} {data[name]}"
        for name, label in (("team", "team"), ("owner", "owner"), ("segment", "segment"))
        if data.get(name)
    ]
    if data.get("role"):
        narrowed.append(f"as {data['role'].upper()}")
    if narrowed:
        scope += ", " + ", ".join(narrowed)
    span = cases.aggregate(first=Min("date"), last=Max("date"))
    start, end = data.get("date_from"), data.get("date_to")
    if start or end:
        dates = f"{start or 'the first case'} to {end or 'today'}"
    elif span["first"]:
        dates = f"every date ({span['first']} to {span['last']})"
    else:
        dates = "every date"
    return {"figures": reason_coverage(cases), "scope": scope, "dates": dates}


def _filtered_cases(request, vis):
    """The viewer's non-void cases narrowed by the filter form (no cases when it is invalid)."""
    visible = vis.cases(ChurnCase.objects.filter(void=False))
    form = CaseFilterForm(request.GET, visibility=vis, visible_cases=visible)
    cases = form.apply(visible) if form.is_valid() else visible.none()
    return form, cases


def _cases_link(params: QueryDict, row=None) -> str:
    """The case list behind one Pareto row (or all of them), with the same filters."""
    query = params.copy()
    for key in ("order", "page", "reason", "no_reason"):
        query.pop(key, None)
    if row is not None and row.has_reason:
        query["reason"] = row.code
    elif row is not None:
        query["no_reason"] = "on"
    return f"{reverse('reasons:cases')}?{query.urlencode()}"


@login_required
def pareto(request):
    vis = visibility(request)
    form, cases = _filtered_cases(request, vis)
    order_by = form.order_by if form.is_valid() else ORDER_BY_LOST_ARR
    rows = [(row, _cases_link(request.GET, row)) for row in pareto_rows(cases, order_by)]
    by_lost_arr = order_by == ORDER_BY_LOST_ARR
    chart = {
        "labels": [row.label for row, _ in rows],
        "values": [str(row.lost_arr) if by_lost_arr else row.count for row, _ in rows],
        "cumulative": [None if row.cumulative_share is None else str(row.cumulative_share * 100) for row, _ in rows],
        "links": [link for _, link in rows],
        "measure": f"Lost ARR ({formatting.currency()})" if by_lost_arr else "Cases",
        "byCount": not by_lost_arr,
        "money": formatting.chart_format(),
    }
    context = {
        "form": form,
        "rows": rows,
        "by_lost_arr": by_lost_arr,
        "coverage": coverage_context(vis, cases, form),
        "chart": chart,
        "all_cases_link": _cases_link(request.GET),
    }
    return render(request, "reasons/pareto.html", context)


@login_required
def case_list(request):
    """The cases behind a Pareto row or total: every number opens to its accounts."""
    vis = visibility(request)
    form, cases = _filtered_cases(request, vis)
    totals = cases.aggregate(count=Count("pk"), lost=Sum("lost_arr"))
    listed = cases.select_related(*CASE_COLUMNS).order_by("-date", "-lost_arr", "customer__name")
    page = Paginator(listed, PAGE_SIZE).get_page(request.GET.get("page"))
    reason = None
    if form.is_valid() and form.cleaned_data.get("reason"):
        reason = ChurnReason.objects.filter(code=form.cleaned_data["reason"]).first()
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "totals": totals,
        "reason": reason,
        "no_reason": form.is_valid() and form.cleaned_data.get("no_reason"),
        "query": query.urlencode(),
        "back": request.get_full_path(),
    }
    return render(request, "reasons/cases.html", context)


@login_required
def taxonomy(request):
    _admin(request)
    # Counted like the case list its number links to: cases that are not void.
    counted = Count("primary_cases", filter=Q(primary_cases__void=False))
    reasons = ChurnReason.objects.annotate(case_count=counted).order_by("-active", "category", "label")
    return render(request, "reasons/taxonomy.html", {"reasons": reasons})


@login_required
def taxonomy_edit(request, pk=None):
    _admin(request)
    reason = get_object_or_404(ChurnReason, pk=pk) if pk else None
    form = ChurnReasonForm(request.POST or None, instance=reason)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, f"Reason “{saved.label}” saved.")
        return redirect("reasons:taxonomy")
    return render(request, "reasons/taxonomy_form.html", {"form": form, "reason": reason})


@login_required
@require_POST
def taxonomy_toggle(request, pk):
    """Deactivate (or reactivate) a reason: cases keep it, new recordings no longer offer it."""
    _admin(request)
    reason = get_object_or_404(ChurnReason, pk=pk)
    reason.active = not reason.active
    reason.save(update_fields=["active"])
    state = "active again" if reason.active else "deactivated; cases keep it, it is no longer offered"
    messages.success(request, f"Reason “{reason.label}” is {state}.")
    return redirect("reasons:taxonomy")
