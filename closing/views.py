"""Pages: the closes (history included), closing and reopening (admins), the restatement report."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_POST

from metrics.scoping import Visibility, visibility
from metrics.models import RetentionSnapshot
from metrics.vocabulary import COMPANY

from .models import CLOSABLE, PeriodClose
from .restatements import build_report, report_period_label
from .service import CloseRefused, close_period, reopen_period


def _readers(request) -> Visibility:
    vis = visibility(request)
    if not vis.can_see_restatements():
        raise PermissionDenied("Closed periods and restatements are for executives and admins.")
    return vis


def _company_page(granularity, period_start) -> str:
    return f"{reverse('company')}?granularity={granularity}&period={period_start.isoformat()}"


@login_required
def close_list(request):
    vis = _readers(request)
    closes = list(PeriodClose.objects.select_related("closed_by", "reopened_by").order_by("-period_start", "granularity", "-closed_at"))
    closable = []
    if vis.can_close_periods():
        shut = {(c.granularity, c.period_start) for c in closes if c.is_open}
        rows = RetentionSnapshot.objects.filter(scope_type=COMPANY, partial=False, granularity__in=dict(CLOSABLE))
        closable = [
            (g, s, e) for g, s, e in rows.order_by("-period_start", "granularity").values_list("granularity", "period_start", "period_end")
            if (g, s) not in shut
        ][:60]
    return render(request, "closing/list.html", {"closes": closes, "closable": closable, "can_close": vis.can_close_periods()})


@login_required
@require_POST
def close(request):
    vis = visibility(request)
    if not vis.can_close_periods():
        raise PermissionDenied("Only admins close periods.")
    granularity = request.POST.get("granularity", "")
    try:
        period_start = parse_date(request.POST.get("period_start", ""))
    except ValueError:
        period_start = None
    if period_start is None:
        messages.error(request, "Choose a period to close (period_start as YYYY-MM-DD).")
        return redirect("closing:list")
    try:
        done = close_period(granularity, period_start, request.user)
    except CloseRefused as refused:
        messages.error(request, str(refused))
        return redirect(request.POST.get("next") or _company_page(granularity, period_start))
    messages.success(request, f"{report_period_label(done)} is closed: its figures are kept as reported.")
    return redirect(_company_page(granularity, period_start))


@login_required
@require_POST
def reopen(request, pk: int):
    vis = visibility(request)
    if not vis.can_close_periods():
        raise PermissionDenied("Only admins reopen periods.")
    period_close = get_object_or_404(PeriodClose, pk=pk)
    try:
        reopen_period(period_close, request.user, request.POST.get("reason", ""))
    except CloseRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"{report_period_label(period_close)} is reopened; the close stays in the history.")
    return redirect(_company_page(period_close.granularity, period_close.period_start))


@login_required
def report(request, pk: int):
    _readers(request)
    period_close = get_object_or_404(PeriodClose.objects.select_related("closed_by", "reopened_by"), pk=pk)
    if not period_close.input_version or not period_close.is_open:
        if period_close.is_open:
            raise Http404("No inputs were kept for this close.")
        # A reopened close: its reported figures stay in the history, its restatements are over.
        return render(request, "closing/report.html", {"close": period_close, "label": report_period_label(period_close), "report": None})
    result = build_report(period_close)
    company = next((s for s in result.scopes if s.scope_type == COMPANY), None)
    return render(
        request,
        "closing/report.html",
        {"close": period_close, "label": report_period_label(period_close), "report": result, "company": company},
    )
