"""Outlook pages: renewals (and, by part, risk, forecast, targets, cohorts).

Views are thin: what the viewer may see comes from ``accounts.scoping.Visibility``, the rules
from the pure functions of this app. An id of a team or owner the viewer may not see is a 404.
"""

from __future__ import annotations

import csv

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render

from accounts.scoping import Visibility
from metrics.export import csv_cell
from metrics.recompute import triggers

from .forms import RenewalFilter
from .renewals import STATUS_LABELS, load_renewals, summarize

ROLE_LABELS = {"csm": "CSM", "am": "AM"}
RENEWAL_COLUMNS = [
    "end_date", "customer_external_id", "customer", "product", "line_external_id", "arr", "status", "risk",
    "expected_loss", "csm_owner", "csm_team", "am_owner", "am_team",
]  # fmt: skip


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
    from metrics.models import Assignment

    for name, visible in (("team", vis.teams()), ("owner", vis.users())):
        raw = data.get(name)
        if raw and (not raw.isdigit() or not visible.filter(pk=int(raw)).exists()):
            raise Http404(f"No such {name}.")
    teams = list(vis.teams())
    owners = list(vis.users().filter(id__in=Assignment.objects.values("user_id")).order_by("email"))
    return RenewalFilter(data, teams=teams, owners=owners, today=triggers.today())


@login_required
def renewals(request):
    vis = Visibility.for_user(request.user)
    form = scoped_filter(vis, request.GET)
    rows, summaries, f = [], None, None
    if form.is_valid():
        f = form.cleaned_data
        rows = load_renewals(vis, f["start"], f["end"], triggers.today(), settings.RENEWAL_GRACE_DAYS, role=f["role"],
                             team_id=f["team"], owner_id=f["owner"], status=f["status"])  # fmt: skip
        if request.GET.get("format") == "csv":
            return renewals_csv(rows, f"renewals-{f['start']:%Y-%m-%d}-{f['end']:%Y-%m-%d}")
        summaries = summarize(rows, f["role"])
    query = request.GET.copy()
    query["format"] = "csv"
    return render(request, "outlook/renewals.html", {
        "form": form, "f": f, "rows": rows, "summaries": summaries, "grace_days": settings.RENEWAL_GRACE_DAYS,
        "statuses": STATUS_LABELS, "csv_url": f"?{query.urlencode()}",
        "role": f["role"] if f else "csm", "role_label": ROLE_LABELS[f["role"] if f else "csm"],
    })  # fmt: skip
