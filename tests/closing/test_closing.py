"""Closing a period and its restatements (SPEC section 9), with hand-computed figures.

The company of ``web_support`` on TODAY (2026-11-23). Q3 2026 (Jul 1 - Sep 30) starts with the
ARR of Jun 30: Acme 12,000 + Beta 24,000 + Gamma 10,000 + Delta 8,000 + Zeta 6,000 = 60,000, and
nothing moves inside it (every change takes effect on Oct 1 or later): churn 0, ending 60,000,
NRR = GRR = 100%.

The correction: Beta's line L3 really ended on Aug 31 (not Oct 14). Live Q3: churn 24,000,
ending 36,000, NRR = GRR = 36,000 / 60,000 = 60%; the reported figures stay as closed.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from closing import diffing
from closing.models import PeriodClose, ReportedFigure
from closing.restatements import build_report
from closing.service import CloseRefused, close_period, reopen_period
from metrics import recompute
from metrics.models import ContractLine, RetentionSnapshot
from tests.api_support import csv_rows, token_client
from tests.web_support import TODAY

Q3 = date(2026, 7, 1)
Q4 = date(2026, 10, 1)
D = Decimal


def company_row(start=Q3, granularity="quarter"):
    return RetentionSnapshot.objects.get(granularity=granularity, period_start=start, scope_type="company")


def correct_line(external_id, user, **values):
    line = ContractLine.objects.get(external_id=external_id)
    for name, value in values.items():
        setattr(line, name, value)
    line._history_user = user  # as the request's user would be
    line.save()
    recompute.process_pending(TODAY)


def test_close_keeps_reported_figures_and_a_correction_shows_as_restated(company):
    admin = company["admin"]
    close = close_period("quarter", Q3, admin)
    assert close.closed_by == admin and close.closed_at and close.period_end == date(2026, 9, 30)
    reported = ReportedFigure.objects.get(close=close, scope_type="company")
    assert (reported.starting_arr, reported.churn, reported.ending_arr, reported.nrr, reported.grr) == (
        D("60000"),
        D("0"),
        D("60000"),
        D("1"),
        D("1"),
    )
    # Every scope of the period is kept, none of another period.
    assert (
        ReportedFigure.objects.filter(close=close).count()
        == RetentionSnapshot.objects.filter(granularity="quarter", period_start=Q3).count()
    )

    correct_line("L3", admin, end_date=date(2026, 8, 31))
    live = company_row()
    assert (live.churn, live.ending_arr, live.nrr, live.grr) == (D("24000"), D("36000"), D("0.6"), D("0.6"))
    reported.refresh_from_db()
    assert (reported.churn, reported.ending_arr, reported.nrr) == (D("0"), D("60000"), D("1"))

    report = build_report(close)
    assert [c.external_id for c in report.customers] == ["C2"]  # Beta only
    beta = report.customers[0]
    moved = {(f.figure, f.before, f.after) for f in beta.figures if f.product == ""}
    assert ("churn", D("0"), D("24000")) in moved
    assert ("ending_arr", D("24000"), D("0")) in moved
    assert ("logos_churned", 0, 1) in moved
    assert ("starting_arr", D("24000"), D("24000")) not in moved  # unchanged figures are not listed
    [edit] = beta.edits
    assert edit.what == "contract line L3 (Core)" and edit.kind == "changed" and edit.who == "admin@example.com"
    assert ("end_date", "2026-10-14", "2026-08-31") in edit.changes
    company_scope = next(s for s in report.scopes if s.scope_type == "company")
    assert (company_scope.reported.churn, company_scope.live.churn) == (D("0"), D("24000"))
    assert ("owner", "ann@example.com", "csm") in {(s.scope_type, s.scope_key, s.role) for s in report.scopes}
    assert ("owner", "bob@example.com", "csm") not in {(s.scope_type, s.scope_key, s.role) for s in report.scopes}


def test_a_correction_outside_the_period_changes_nothing_in_its_report(company):
    admin = company["admin"]
    close = close_period("quarter", Q3, admin)
    correct_line("L7", admin, arr=D("12000"))  # Delta's upsell from Oct 1: Q4, not Q3
    assert company_row(Q4).expansion != company_row(Q3).expansion
    report = build_report(close)
    assert report.edited_customers == 1  # Delta was edited ...
    assert report.customers == [] and report.scopes == []  # ... and nothing of Q3 moved


def test_reopen_needs_a_reason_and_closing_again_takes_the_new_figures(company):
    admin = company["admin"]
    close = close_period("quarter", Q3, admin)
    correct_line("L3", admin, end_date=date(2026, 8, 31))
    with pytest.raises(CloseRefused, match="reason"):
        reopen_period(close, admin, "  ")
    reopen_period(close, admin, "Beta's termination was booked late")
    close.refresh_from_db()
    assert close.reopened_by == admin and close.reopen_reason == "Beta's termination was booked late"
    again = close_period("quarter", Q3, admin)
    assert ReportedFigure.objects.get(close=again, scope_type="company").churn == D("24000")
    assert build_report(again).customers == []
    # The first close and its figures stay in the history.
    assert ReportedFigure.objects.get(close=close, scope_type="company").churn == D("0")
    assert PeriodClose.objects.filter(granularity="quarter", period_start=Q3).count() == 2


def test_partial_periods_and_twice_closed_periods_are_refused(company):
    with pytest.raises(CloseRefused, match="partial"):
        close_period("quarter", Q4, company["admin"])  # Oct - Dec 2026, measured on Nov 23
    with pytest.raises(CloseRefused, match="month, a quarter or a year"):
        close_period("ttm", date(2025, 11, 1), company["admin"])
    close_period("month", date(2026, 10, 1), company["admin"])
    with pytest.raises(CloseRefused, match="already closed"):
        close_period("month", date(2026, 10, 1), company["admin"])


def test_the_export_carries_closed_and_reported_columns_and_filters_restated_rows(company):
    admin = company["admin"]
    close_period("quarter", Q3, admin)
    correct_line("L3", admin, end_date=date(2026, 8, 31))
    client = token_client(company["executive"])
    rows = client.get("/api/v1/retention/", {"granularity": "quarter", "scope_type": "company"}).json()["results"]
    q3 = next(r for r in rows if r["period_start"] == "2026-07-01")
    q2 = next(r for r in rows if r["period_start"] == "2026-04-01")
    assert (q3["closed"], q3["churn"], q3["reported_churn"], q3["nrr"], q3["reported_nrr"]) == (
        True,
        "24000.00",
        "0.00",
        "0.6000",
        "1.0000",
    )
    assert q3["reported_new_arr"] == "0.00" and q3["reported_ending_arr"] == "60000.00"
    assert (q2["closed"], q2["reported_churn"], q2["reported_nrr"]) == (False, None, None)
    restated = client.get("/api/v1/retention/", {"restated": "true"}).json()["results"]
    assert restated and {(r["granularity"], r["period_start"]) for r in restated} == {("quarter", "2026-07-01")}
    keys = {(r["scope_type"], r["scope_key"], r["role"]) for r in restated}
    assert (
        ("company", "", "") in keys
        and ("owner", "ann@example.com", "csm") in keys
        and ("owner", "bob@example.com", "csm") not in keys
    )
    assert client.get("/api/v1/retention/", {"restated": "maybe"}).status_code == 400
    [row] = csv_rows(client.get("/api/v1/retention/", {"restated": "true", "scope_type": "company", "format": "csv"}))
    assert (row["closed"], row["churn"], row["reported_churn"], row["reported_grr"]) == (
        "true",
        "24000.00",
        "0.00",
        "1.0000",
    )

    out = io.StringIO()
    call_command("export_retention", "--granularity", "quarter", "--scope-type", "company", "--restated", stdout=out)
    [row] = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert (row["period_start"], row["closed"], row["reported_ending_arr"], row["ending_arr"]) == (
        "2026-07-01",
        "true",
        "60000.00",
        "36000.00",
    )


def test_closing_through_the_api_is_for_admins(company):
    executive, admin = token_client(company["executive"]), token_client(company["admin"])
    assert (
        executive.post("/api/v1/closes/", {"granularity": "quarter", "period_start": "2026-07-01"}).status_code == 403
    )
    refused = admin.post("/api/v1/closes/", {"granularity": "quarter", "period_start": "2026-10-01"})
    assert refused.status_code == 400 and "partial" in refused.json()["period_start"][0]
    created = admin.post("/api/v1/closes/", {"granularity": "quarter", "period_start": "2026-07-01"})
    assert created.status_code == 201 and created.json()["closed_by"] == "admin@example.com"
    pk = created.json()["id"]
    correct_line("L3", company["admin"], end_date=date(2026, 8, 31))
    report = executive.get(f"/api/v1/closes/{pk}/restatements/").json()
    [beta] = report["customers"]
    assert beta["customer"] == "C2"
    assert {"product": "", "figure": "churn", "before": "0", "after": "24000.00", "difference": "24000.00"} in beta[
        "figures"
    ]
    assert beta["edits"][0]["who"] == "admin@example.com"
    assert token_client(company["ann"]).get("/api/v1/closes/").status_code == 403
    assert admin.post(f"/api/v1/closes/{pk}/reopen/", {"reason": ""}).status_code == 400
    reopened = admin.post(f"/api/v1/closes/{pk}/reopen/", {"reason": "late booking"})
    assert (
        reopened.status_code == 200
        and reopened.json()["closed"] is False
        and reopened.json()["reopen_reason"] == "late booking"
    )


def test_an_import_is_an_edit_by_whoever_ran_it_with_the_run_named(company, tmp_path):
    from metrics.importing import import_directory

    admin = company["admin"]
    close = close_period("quarter", Q3, admin)
    (tmp_path / "contracts.csv").write_text(
        "external_id,customer_external_id,product,start_date,end_date,arr\nL3,C2,Core,2025-03-01,2026-08-31,24000\n"
    )
    import_directory(tmp_path, user=admin)
    recompute.process_pending(TODAY)
    [beta] = build_report(close).customers
    [edit] = beta.edits
    assert edit.who == "admin@example.com" and edit.source.startswith("CSV import ") and tmp_path.name in edit.source


def test_an_assignment_moved_inside_the_period_moves_the_contribution_between_owners(company):
    from metrics.models import Assignment

    admin = company["admin"]
    close = close_period("quarter", Q3, admin)
    assignment = Assignment.objects.get(customer=company["gamma"], role="csm")
    assignment.user = company["bob"]
    assignment._history_user = admin
    assignment.save()
    recompute.process_pending(TODAY)
    [gamma] = build_report(close).customers
    assert ("CSM", "cid@example.com", "bob@example.com") in gamma.attribution
    assert gamma.figures == []  # the company's figures did not move, only who they belong to
    assert (
        gamma.edits[0].what == "CSM assignment"
        and ("user", "cid@example.com", "bob@example.com") in gamma.edits[0].changes
    )


def test_pages_show_the_reported_figure_with_a_restated_mark(company, client):
    admin = company["admin"]
    close = close_period("quarter", Q3, admin)
    correct_line("L3", admin, end_date=date(2026, 8, 31))
    client.force_login(company["executive"])
    html = client.get(reverse("company"), {"granularity": "quarter", "period": "2026-07-01"}).content.decode()
    assert 'data-testid="closed-notice"' in html and 'data-testid="restated"' in html
    assert "$60,000" in html  # the reported ending ARR
    assert "$36,000" in html  # the live one, behind the mark
    # The drill-down behind the reported churn lists the accounts as reported (none); live: Beta.
    drill = client.get(
        reverse("drilldown"), {"scope": "company", "granularity": "quarter", "period": "2026-07-01", "figure": "churn"}
    )
    assert "as reported" in drill.content.decode() and "Beta" not in drill.content.decode().split("drill-rows")[1]
    live = client.get(
        reverse("drilldown"),
        {"scope": "company", "granularity": "quarter", "period": "2026-07-01", "figure": "churn", "view": "live"},
    )
    assert "Beta" in live.content.decode().split("drill-rows")[1]
    report = client.get(reverse("closing:report", args=[close.pk])).content.decode()
    assert 'data-customer="C2"' in report and "contract line L3" in report
    # Members see neither the closes nor the reports.
    client.logout()
    client.force_login(company["ann"])
    assert client.get(reverse("closing:report", args=[close.pk])).status_code == 403


def test_contribution_of_an_account_row_by_hand():
    from types import SimpleNamespace as Row

    churned = Row(product="", movement="churn", starting_arr=D("24000"), ending_arr=D("0"), cross_sell=D("0"))
    kept = Row(product="", movement="none", starting_arr=D("24000"), ending_arr=D("24000"), cross_sell=D("0"))
    grown = Row(product="", movement="expansion", starting_arr=D("12000"), ending_arr=D("15000"), cross_sell=D("3000"))
    assert diffing.contribution(churned) | {} == {
        "starting_arr": D("24000"),
        "new_arr": 0,
        "reactivation_arr": 0,
        "expansion": 0,
        "upsell": 0,
        "cross_sell": 0,
        "contraction": 0,
        "churn": D("24000"),
        "ending_arr": D("0"),
        "arr_end": D("0"),
        "logos_start": 1,
        "logos_churned": 1,
    }
    assert diffing.contribution(grown)["upsell"] == 0 and diffing.contribution(grown)["cross_sell"] == D("3000")
    changes = {(c.figure, c.before, c.after) for c in diffing.figure_changes([kept], [churned])}
    assert changes == {
        ("churn", 0, D("24000")),
        ("ending_arr", D("24000"), 0),
        ("arr_end", D("24000"), 0),
        ("logos_churned", 0, 1),
    }
    assert diffing.figure_changes([kept], [kept]) == []
    # Edits that bear on a period: a line starting after it does not; an assignment not covering day s does not.
    s, l = date(2026, 7, 1), date(2026, 9, 30)
    after = {"start_date": date(2026, 10, 1), "end_date": None}
    assert not diffing.line_bears_on(after, {**after, "end_date": date(2027, 1, 1)}, s, l)
    assert diffing.line_bears_on({"start_date": date(2025, 3, 1), "end_date": None}, None, s, l)
    assert not diffing.dated_bears_on({"start_date": date(2026, 7, 2), "end_date": None}, None, s)
    assert diffing.dated_bears_on(None, {"start_date": date(2026, 7, 1), "end_date": date(2026, 7, 1)}, s)


def test_the_inputs_kept_at_a_close_answer_every_reported_figure(company):
    """Closing keeps only the lines of the customers with revenue on s-1 or l (those days' lines
    and each one's earliest revenue line): the accounts behind every reported figure, answered
    from that copy, still add up to it, for every closable period and scope."""
    from metrics.models import Customer
    from metrics.queries import Scope
    from metrics.recompute import accounts
    from metrics.recompute.accounts import make_period

    # A customer that lapsed and came back: in later periods only its earliest, long-ended line
    # says that its first revenue day (tenure band; reactivation, not new) lies far back.
    eta = Customer.objects.create(external_id="C7", name="Eta", segment="SMB")
    ContractLine.objects.create(
        external_id="L10",
        customer=eta,
        product="Core",
        start_date=date(2025, 1, 1),
        end_date=date(2025, 3, 31),
        arr=D("4000"),
    )
    ContractLine.objects.create(
        external_id="L11", customer=eta, product="Core", start_date=date(2025, 8, 15), arr=D("5000")
    )
    recompute.recompute_all(TODAY)
    teams = {t.name: t.pk for t in company["east"].__class__.objects.all()}
    users = {u.email: u.pk for u in company["admin"].__class__.objects.all()}
    periods = RetentionSnapshot.objects.filter(
        scope_type="company", partial=False, granularity__in=["month", "quarter", "year"]
    )
    checked = 0
    for granularity, start in periods.values_list("granularity", "period_start"):
        close = close_period(granularity, start, company["admin"])
        period = make_period(granularity, start, close.as_of)
        for figure in ReportedFigure.objects.filter(close=close):
            object_id = {"team": teams, "owner": users}.get(figure.scope_type, {}).get(figure.scope_key)
            scope = Scope(figure.scope_type, figure.scope_key, figure.role, object_id)
            totals = accounts.account_totals(close.input_version, period, scope, with_cross_sell=True)
            got = (
                totals.starting_arr,
                totals.expansion,
                totals.cross_sell,
                totals.contraction,
                totals.churn,
                totals.cohort_ending_arr,
                totals.logos_start,
                totals.logos_churned,
            )
            want = (
                figure.starting_arr,
                figure.expansion,
                figure.cross_sell,
                figure.contraction,
                figure.churn,
                figure.ending_arr,
                figure.logos_start,
                figure.logos_churned,
            )
            assert got == want, (granularity, start, figure.scope_type, figure.scope_key, figure.role)
            if figure.scope_type == "company":
                assert (totals.new_arr, totals.reactivation_arr) == (figure.new_arr, figure.reactivation_arr)
            checked += 1
    assert checked > 100


def test_many_edited_customers_are_compared_without_binding_their_ids(company, monkeypatch):
    from closing import restatements

    close = close_period("quarter", Q3, company["admin"])
    correct_line("L3", company["admin"], end_date=date(2026, 8, 31))
    correct_line("L7", company["admin"], arr=D("12000"))
    monkeypatch.setattr(restatements, "MAX_BOUND_CUSTOMERS", 1)  # two edited customers: read every row
    report = build_report(close)
    assert report.edited_customers == 2 and [c.external_id for c in report.customers] == ["C2"]
