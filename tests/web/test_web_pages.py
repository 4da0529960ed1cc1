"""The read-only pages: figures as the snapshots hold them, drill-downs that add up, CSV, states."""

import csv
import html
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from metrics.models import PendingRecompute, RecomputeStatus, RetentionSnapshot
from metrics.queries import FIGURES, Scope
from metrics.recompute import accounts
from tests.web_support import OCTOBER, PASSWORD, TODAY, build_company
from web.links import drill_url
from web.templatetags.retention_format import money, rate


def company_row(granularity="month", period_start=OCTOBER, **scope):
    scope = scope or {"scope_type": "company", "scope_key": "", "role": ""}
    return RetentionSnapshot.objects.get(granularity=granularity, period_start=period_start, **scope)


# --- formatting -------------------------------------------------------------------------------


def test_money_shows_the_currency_with_cents_only_when_not_zero_and_rates_are_percentages_with_a_dash_when_undefined():
    assert money(Decimal("1234567.5")) == "$1,234,567.50"
    assert money(Decimal("87539250.00")) == "$87,539,250"
    assert money(None) == "—"
    assert rate(Decimal("1.0834")) == "108.3%"
    assert rate(Decimal("0")) == "0.0%"
    assert rate(None) == "—"


# --- company view -----------------------------------------------------------------------------


def test_company_headline_shows_the_last_complete_month_quarter_and_ttm(client, company):
    client.force_login(company["executive"])
    response = client.get("/company/")
    headline = dict(response.context["headline"])
    month, quarter, ttm = (
        headline[k] for k in ("Last complete month", "Last complete quarter", "Trailing twelve months")
    )
    assert (month.granularity, month.period_start, month.partial) == ("month", OCTOBER, False)
    assert quarter.granularity == "quarter" and not quarter.partial and quarter.period_end < OCTOBER
    assert ttm.granularity == "ttm" and ttm.period_end.month == 10 and not ttm.partial
    html = response.content.decode()
    for row in (month, quarter, ttm):
        assert f">{rate(row.nrr)}</a>" in html
        assert f">{rate(row.grr)}</a>" in html
    assert f">{money(month.ending_arr + month.new_arr + month.reactivation_arr)}</a>" in html


def test_company_bridge_walks_from_start_to_end(client, company):
    client.force_login(company["executive"])
    bridge = client.get(f"/company/?granularity=month&period={OCTOBER.isoformat()}").context["bridge"]
    row = company_row()
    assert bridge["labels"] == ["Start", "New", "Reactivation", "Upsell", "Cross-sell", "Contraction", "Churn", "End"]
    assert bridge["bars"][0] == [0.0, float(row.starting_arr)]
    assert bridge["bars"][-1] == [0.0, float(row.ending_arr + row.new_arr + row.reactivation_arr)]
    # Each step starts where the previous one ended.
    level = float(row.starting_arr)
    for (low, high), kind in zip(bridge["bars"][1:-1], bridge["kinds"][1:-1], strict=True):
        assert (low if kind == "up" else high) == level
        level = high if kind == "up" else low
    assert level == bridge["bars"][-1][1]


def test_company_team_tables_have_a_row_per_team_for_each_role(client, company):
    client.force_login(company["executive"])
    tables = {t["testid"]: t["items"] for t in client.get("/company/").context["team_tables"]}
    assert {i.label for i in tables["teams-csm"]} == {"CS East", "CS West", "unassigned"}
    assert {i.label for i in tables["teams-am"]} == {"AM Team", "unassigned"}
    assert all(i.url for i in tables["teams-csm"] if i.label != "unassigned")


def test_slicing_shows_every_value_then_one_value(client, company):
    client.force_login(company["executive"])
    response = client.get(f"/company/?slice=segment&granularity=month&period={OCTOBER.isoformat()}")
    assert [i.label for i in response.context["slice_rows"]] == ["Enterprise", "SMB", "unknown"]
    response = client.get(f"/company/?slice=segment&key=SMB&granularity=month&period={OCTOBER.isoformat()}")
    assert response.context["row"] == company_row(scope_type="segment", scope_key="SMB", role="")
    assert response.context["title"] == "Segment: SMB"


def test_undefined_rates_show_a_dash_and_partial_periods_a_badge(client, company):
    client.force_login(company["executive"])
    first = RetentionSnapshot.objects.filter(scope_type="company", granularity="month").order_by("period_start").first()
    assert first.nrr is None  # nothing before the first month: no starting ARR
    response = client.get(f"/company/?granularity=month&period={first.period_start.isoformat()}")
    nrr_cell = response.content.decode().split("<dt>NRR")[-1].split("<dd>")[1].split("</dd>")[0]
    assert "—" in nrr_cell
    current = RetentionSnapshot.objects.filter(scope_type="company", granularity="month", partial=True).get()
    html = client.get(f"/company/?granularity=month&period={current.period_start.isoformat()}").content.decode()
    assert 'class="badge partial"' in html


def test_pages_say_when_figures_were_computed_and_when_they_are_being_updated(client, company):
    from django.utils import timezone

    client.force_login(company["executive"])
    RecomputeStatus.objects.filter(pk=1).update(as_of=timezone.localdate())
    html = client.get("/company/").content.decode()
    assert "Figures computed 2" in html and "recompute-pending" not in html
    PendingRecompute.objects.create(customer_id=company["acme"].pk)
    assert "Updating: recent changes are not in these figures yet" in client.get("/company/").content.decode()
    PendingRecompute.objects.all().delete()
    RecomputeStatus.objects.filter(pk=1).update(as_of=TODAY)  # measured on a day gone by
    assert "Updating: today is not in these figures yet" in client.get("/company/").content.decode()


def test_empty_state_explains_how_to_import(client, db):
    data = build_company(compute=False)
    client.force_login(data["executive"])
    html = client.get("/company/").content.decode()
    assert "No retention figures yet" in html and "manage.py import_data DIR" in html


# --- team and owner views ----------------------------------------------------------------------


def test_team_view_rows_follow_the_role_and_sort(client, company):
    client.force_login(company["executive"])
    url = f"/teams/{company['east'].pk}/?granularity=month&period={OCTOBER.isoformat()}"
    response = client.get(url + "&sort=grr")
    assert response.context["accountable"] == "grr"
    grrs = [i.row.grr for i in response.context["owner_rows"]]
    assert grrs == sorted(grrs) and len(grrs) == 2
    assert [i.row.grr for i in client.get(url + "&sort=-grr").context["owner_rows"]] == sorted(grrs, reverse=True)
    am = client.get(f"/teams/{company['am_team'].pk}/?granularity=month&period={OCTOBER.isoformat()}")
    assert am.context["role"] == "am" and am.context["accountable"] == "nrr"
    assert [h["name"] for h in am.context["headers"]][:5] == [
        "owner",
        "starting_arr",
        "upsell",
        "cross_sell",
        "expansion",
    ]
    assert [i.owner.email for i in am.context["owner_rows"]] == ["amy@example.com"]


def test_owner_view_lists_the_book_movers_and_cases(client, company):
    client.force_login(company["ann"])
    response = client.get(f"/owners/{company['ann'].pk}/?granularity=month&period={OCTOBER.isoformat()}")
    book = {m.customer_name: m.movement for m in response.context["book"]}
    assert book == {"Acme": "expansion", "Beta": "churn"}
    assert [m.customer_name for m in response.context["movers"]] == ["Beta", "Acme"]
    assert [(c.customer.name, c.kind) for c in response.context["beside"].cases] == [("Beta", "churn")]
    assert response.context["row"] == company_row(scope_type="owner", scope_key="ann@example.com", role="csm")


# --- drill-down ---------------------------------------------------------------------------------


def scopes_of(company):
    return [
        Scope.company(),
        Scope.team(company["east"], "csm"),
        Scope.team(None, "am"),
        Scope.owner(company["ann"], "csm"),
        Scope.owner(company["amy"], "am"),
        Scope("segment", "SMB"),
        Scope("segment", "unknown"),
        Scope("region", "NA"),
        Scope("tenure", "12-24"),
        Scope("product", "Core"),
    ]


def check_totals(figure, value, totals):
    if figure.amount:
        assert totals.amount == value
    elif figure.name in ("logos_start", "logos_churned"):
        assert totals.accounts == value
    elif figure.name == "nrr":
        assert round(totals.nrr, 4) == value


def test_every_drilldown_total_equals_the_figure_it_came_from(company):
    """Every figure of every period, granularity and scope: the accounts behind it add up to it."""
    status = RecomputeStatus.get()
    checked = 0
    for scope in scopes_of(company):
        for row in RetentionSnapshot.objects.filter(scope.snapshot_filter):
            period = accounts.make_period(row.granularity, row.period_start, status.as_of)
            behind = accounts.account_rows(status.input_version, period, scope, limit=None)
            for figure in FIGURES.values():
                value = figure.of(row)
                if value is None:
                    continue
                rows = [m for m in behind if m.movement in figure.movements]
                totals = accounts.account_totals(status.input_version, period, scope, figure=figure)
                assert totals.accounts == len(rows)
                if figure.amount:
                    assert sum((figure.amount(m) for m in rows), Decimal(0)) == totals.amount
                check_totals(figure, value, totals)
                checked += 1
    assert checked > 1000


def test_drilldown_pages_show_totals_equal_to_the_figures_they_came_from(client, company):
    client.force_login(company["executive"])
    checked = 0
    for scope in scopes_of(company):
        for granularity in ("month", "ttm"):
            row = RetentionSnapshot.objects.filter(
                scope.snapshot_filter, granularity=granularity, period_end__month=10, period_end__year=2026
            ).first()
            if row is None:  # e.g. a tenure band that the TTM window's first day does not have
                continue
            for name in ("starting_arr", "churn", "expansion", "ending_arr", "logos_start"):
                figure = FIGURES[name]
                response = client.get(drill_url(scope, granularity, row.period_start, name))
                assert response.context["figure_value"] == figure.of(row)
                check_totals(figure, figure.of(row), response.context["totals"])
                shown = response.content.decode().split('data-testid="drill-total">')[1].split("<")[0]
                assert shown == (money(figure.of(row)) if figure.amount else str(figure.of(row)))
                checked += 1
    assert checked >= 90


def test_drilldown_can_narrow_to_one_movement_kind(client, company):
    client.force_login(company["executive"])
    url = drill_url(Scope.company(), "month", OCTOBER, "starting_arr", "churn")
    rows = client.get(url).context["rows"]
    assert [(m.customer_name, m.movement) for m in rows] == [("Beta", "churn")]


def test_drilldown_csv_has_the_same_rows_and_neutralised_formulas(client, company):
    client.force_login(company["executive"])
    url = drill_url(Scope.company(), "month", OCTOBER, "arr_end") + "&format=csv"
    response = client.get(url)
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(table) == 6  # every customer with revenue at either end of October
    assert sum(Decimal(r["amount"]) for r in table) == FIGURES["arr_end"].of(company_row())
    zeta = next(r for r in table if r["external_id"] == "C6")
    assert zeta["customer"] == "'=Zeta"
    assert zeta["csm_owner"] == "unassigned"
    acme = next(r for r in table if r["external_id"] == "C1")
    assert (acme["starting_arr"], acme["ending_arr"], acme["movement"]) == ("12000.00", "15000.00", "expansion")
    assert (acme["csm_owner"], acme["csm_team"], acme["am_owner"]) == ("ann@example.com", "CS East", "amy@example.com")


FIGURE_LINK = re.compile(r'<a class="fig" href="([^"]+)" data-figure="[^"]+" title="([^"]*)">([^<]+)</a>')


@pytest.mark.parametrize(
    ("who", "page"),
    [("executive", "/company/"), ("executive", "/company/?slice=region&key=NA"), ("lead", "team"), ("ann", "owner")],
)
def test_every_figure_on_a_page_links_to_accounts_that_show_the_same_figure(client, company, who, page):
    client.force_login(company[who])
    url = {"team": f"/teams/{company['east'].pk}/", "owner": f"/owners/{company['ann'].pk}/"}.get(page, page)
    links = FIGURE_LINK.findall(client.get(url).content.decode())
    assert len(links) >= 12
    for href, title, text in links:
        drill = client.get(html.unescape(href))
        assert drill.status_code == 200, href
        shown = drill.content.decode().split('data-testid="figure-value">')[1].split("<")[0]
        # A card shows money compact ($44K) with the exact amount first in its title.
        assert shown == text or html.unescape(title).startswith(f"{shown} "), href


def test_the_period_asked_for_is_shown_and_an_unknown_one_falls_back_to_the_last_complete(client, company):
    client.force_login(company["executive"])
    quarter = client.get("/company/?granularity=quarter").context["row"]
    assert quarter.granularity == "quarter" and not quarter.partial
    later = RetentionSnapshot.objects.filter(
        scope_type="company", granularity="quarter", period_start__gt=quarter.period_start
    )
    assert [r.partial for r in later] == [True]  # the default is the last quarter that is over
    chosen = client.get(f"/company/?granularity=quarter&period={later[0].period_start.isoformat()}").context["row"]
    assert chosen == later[0]
    assert client.get("/company/?granularity=quarter&period=1999-01-01").context["row"] == quarter
    assert client.get("/company/?granularity=quarter&period=2026-13-01").context["row"] == quarter  # not a date
    assert client.get("/company/?granularity=fortnight").context["row"] == company_row()


def test_a_scope_with_only_the_current_unfinished_period_shows_it(client, company):
    # As in a company's (or an owner's) first month: no period is over yet. This was a 500
    # (pick_period unpacked a (start, end, partial) triple into two names).
    client.force_login(company["executive"])
    RetentionSnapshot.objects.filter(scope_type="company", granularity="month", partial=False).delete()
    response = client.get("/company/?granularity=month")
    assert response.status_code == 200
    current = RetentionSnapshot.objects.get(scope_type="company", granularity="month", partial=True)
    assert response.context["row"] == current
    assert 'class="badge partial"' in response.content.decode()


def test_malformed_drilldowns_answer_404(client, company):
    client.force_login(company["executive"])
    base = reverse("drilldown")
    for query in [
        "scope=company&granularity=week&period=2026-10-01",
        "scope=company&granularity=month&period=2026-13-01",
        "scope=company&granularity=month&period=2026-10-01&figure=nope",
        "scope=galaxy&granularity=month&period=2026-10-01",
        "scope=team&key=abc&role=csm&granularity=month&period=2026-10-01",
        "scope=team&key=1&role=boss&granularity=month&period=2026-10-01",
    ]:
        assert client.get(f"{base}?{query}").status_code == 404, query


# --- sign in, lockout, password ----------------------------------------------------------------


def test_sign_in_with_email_and_password_lands_on_home(client, company):
    page = client.get(reverse("login"))
    assert b'name="csrfmiddlewaretoken"' in page.content
    response = client.post(reverse("login"), {"username": "exec@example.com", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert client.get("/", follow=True).request["PATH_INFO"] == reverse("company")


def test_repeated_failures_show_the_lockout_page(client, company):
    for _ in range(5):
        response = client.post(reverse("login"), {"username": "ann@example.com", "password": "wrong"})
    assert response.status_code == 429
    assert b"Sign-in temporarily locked" in response.content and b"ann@example.com" in response.content
    # Even the right password is refused while locked out...
    response = client.post(reverse("login"), {"username": "ann@example.com", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # ...but the lockout is of that user from that address, not of everyone signing in there.
    response = client.post(reverse("login"), {"username": "bob@example.com", "password": PASSWORD})
    assert response.status_code == 302


def test_password_change_takes_effect(client, company):
    client.force_login(company["ann"])
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "another-long-passphrase",
            "new_password2": "another-long-passphrase",
        },
    )
    assert response["Location"] == reverse("password_change_done")
    company["ann"].refresh_from_db()
    assert company["ann"].check_password("another-long-passphrase")


# --- pages between recomputes ------------------------------------------------------------------


def test_a_page_between_recomputes_is_served_from_the_cache_until_the_next_recompute(client, company):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from metrics import recompute
    from metrics.models import ContractLine

    client.force_login(company["executive"])
    RecomputeStatus.objects.filter(pk=1).update(as_of=TODAY)
    url = f"/company/?granularity=month&period={OCTOBER.isoformat()}"
    first = client.get(url).content
    with CaptureQueriesContext(connection) as queries_made:
        again = client.get(url).content
    assert again == first
    assert len(queries_made) <= 8, [q["sql"][:80] for q in queries_made]  # session, user, status: no figures read
    line = ContractLine.objects.get(external_id="L9")  # Zeta, 6,000 -> 6,500
    line.arr = Decimal("6500.00")
    line.save()
    recompute.process_pending(TODAY)
    fresh = client.get(url).content.decode()
    assert fresh != first.decode() and money(company_row().ending_arr) in fresh


def test_the_page_cache_is_never_shared_between_sessions(client, company):
    from django.test import Client

    RecomputeStatus.objects.filter(pk=1).update(as_of=TODAY)
    url = f"/owners/{company['ann'].pk}/"
    client.force_login(company["ann"])
    mine = client.get(url).content.decode()
    other = Client()
    other.force_login(company["lead"])
    theirs = other.get(url).content.decode()
    assert "lena@example.com" in theirs and "lena@example.com" not in mine
