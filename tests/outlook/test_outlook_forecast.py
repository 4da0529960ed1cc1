"""Risk marks and the GRR/NRR forecast (SPEC section 8): the rule by hand, the customer page,
and the forecast beside the measured figures on company, team and owner pages."""

from datetime import date
from decimal import Decimal

import pytest

from metrics import recompute
from metrics.models import ContractLine, PendingRecompute, RetentionSnapshot
from outlook.forecast import AT_RISK, LIKELY, RiskedAccount, UpcomingRenewal, expected_loss, forecast
from outlook.models import RiskMark
from tests.outlook_support import build_outlook_company
from tests.web_support import TODAY

D = Decimal
TODAY_ = date(2026, 11, 23)
Q_END = date(2026, 12, 31)


def account(cid, risk, loss, renewals, a, b):
    return RiskedAccount(
        cid, risk, D(loss), tuple(UpcomingRenewal(end, D(arr), status) for end, arr, status in renewals), D(a), D(b)
    )


# --- the rule, by hand --------------------------------------------------------------------------


def test_forecast_with_overlapping_risk_and_renewals():
    """Starting 100,000 (no churn yet), ending 106,000 measured today.

    A at risk, 10,000 expected, two lines coming up: loses 10,000 once (GRR and NRR).
    B likely to churn: its open 12,000 line is lost, its renewed 18,000 line is not.
    C at risk, 4,000 expected, a=30,000 b=36,000: the loss eats only the expansion (GRR 0, NRR 4,000).
    D at risk, but its renewal falls after the period: nothing.
    E likely to churn, its line ends on the period's last day (lost the day after): nothing.
    F new this period (a=0): never in NRR or GRR.
    GRR = (100,000 - 10,000 - 12,000) / 100,000 = 0.78; NRR = (106,000 - 10,000 - 12,000 - 4,000) / 100,000 = 0.80.
    """
    accounts = [
        account(
            1,
            AT_RISK,
            "10000",
            [(date(2026, 12, 1), "20000", "open"), (date(2026, 12, 10), "20000", "open")],
            "40000",
            "40000",
        ),
        account(
            2,
            LIKELY,
            "0",
            [(date(2026, 12, 5), "12000", "open"), (date(2026, 12, 6), "18000", "renewed")],
            "30000",
            "30000",
        ),
        account(3, AT_RISK, "4000", [(date(2026, 11, 30), "30000", "open")], "30000", "36000"),
        account(4, AT_RISK, "9000", [(date(2027, 1, 15), "9000", "open")], "9000", "9000"),
        account(5, LIKELY, "0", [(Q_END, "5000", "open")], "5000", "5000"),
        account(6, AT_RISK, "3000", [(date(2026, 12, 1), "3000", "open")], "0", "3000"),
    ]
    f = forecast(D("100000"), D("0"), D("0"), D("106000"), accounts, TODAY_, Q_END)
    assert (f.measured_grr, f.measured_nrr) == (D("1.0000"), D("1.0600"))
    assert (f.forecast_grr, f.forecast_nrr) == (D("0.7800"), D("0.8000"))
    assert (f.grr_loss, f.nrr_loss) == (D("22000"), D("26000"))
    assert [(e.account.customer_id, e.loss, e.grr_loss) for e in f.effects] == [
        (2, 12000, 12000),
        (1, 10000, 10000),
        (3, 4000, 0),
    ]


def test_an_expected_loss_above_the_arr_today_is_capped_and_a_renewal_today_counts():
    a = account(1, AT_RISK, "50000", [(TODAY_, "40000", "open")], "40000", "40000")
    f = forecast(D("40000"), D("0"), D("0"), D("40000"), [a], TODAY_, Q_END)
    assert (f.forecast_grr, f.forecast_nrr, f.nrr_loss) == (D("0.0000"), D("0.0000"), D("40000"))


def test_healthy_accounts_and_renewals_already_past_lose_nothing():
    assert (
        expected_loss(account(1, "healthy", "0", [(date(2026, 12, 1), "1000", "open")], "1", "1"), TODAY_, Q_END) == 0
    )
    assert (
        expected_loss(account(1, AT_RISK, "700", [(date(2026, 11, 22), "1000", "open")], "1", "1"), TODAY_, Q_END) == 0
    )
    assert forecast(D("0"), D("0"), D("0"), D("0"), [], TODAY_, Q_END).forecast_grr is None  # undefined, never 0


# --- the pages ----------------------------------------------------------------------------------


@pytest.fixture
def world(db, on_today):
    """build_outlook_company plus Zeta's Add-on 1,000 (2026-01-01 .. 12-20); Acme at risk
    (5,000 expected; Support ends 12-15), Zeta likely to churn, Gamma likely to churn (no renewal)."""
    world = build_outlook_company(compute=False)
    ContractLine.objects.create(
        external_id="L12",
        customer=world["zeta"],
        product="Add-on",
        start_date=date(2026, 1, 1),
        end_date=date(2026, 12, 20),
        arr=D("1000"),
    )
    PendingRecompute.objects.all().delete()
    recompute.recompute_all(TODAY)
    mark = RiskMark.objects.create
    mark(customer=world["acme"], status="healthy", noted_on=date(2026, 9, 1), recorded_by=world["ann"])
    mark(
        customer=world["acme"],
        status="at_risk",
        expected_loss=D("5000"),
        noted_on=date(2026, 11, 2),
        note="Champion left",
        recorded_by=world["ann"],
    )
    mark(customer=world["zeta"], status="likely_to_churn", noted_on=date(2026, 11, 3), recorded_by=world["admin"])
    mark(customer=world["gamma"], status="likely_to_churn", noted_on=date(2026, 11, 3), recorded_by=world["admin"])
    return world


def forecasts(response):
    return (
        {item["f"].row.granularity: item["f"].forecast for item in response.context["items"]}
        if "items" in response.context
        else {}
    )


def panel(client, url):
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    return page[page.index('data-testid="forecast"') : page.index("</section>", page.index('data-testid="forecast"'))]


def test_company_forecast_for_the_quarter_and_the_year(client, world):
    """Q4 2026 cohort on 09-30: Acme 14,000 (b 17,000), Beta 24,000 (0), Gamma 10,000 (7,000),
    Delta 9,500 (11,000), Zeta 7,000 (7,000): starting 64,500, kept 37,500, ending 42,000.
    Acme loses 5,000 (GRR 2,000); Zeta's open 1,000 line (GRR 1,000); Gamma has no renewal.
    2026: starting 62,000 (Delta 8,000, Zeta 6,000 on 2025-12-31), kept 35,000, ending 42,000;
    Zeta's 1,000 only eats its expansion (GRR 0)."""
    q4 = RetentionSnapshot.objects.get(scope_type="company", granularity="quarter", period_start=date(2026, 10, 1))
    assert (q4.starting_arr, q4.ending_arr, q4.starting_arr - q4.churn - q4.contraction) == (64500, 42000, 37500)
    client.force_login(world["executive"])
    html = panel(client, "/company/")
    quarter = html[html.index('data-granularity="quarter"') : html.index('data-granularity="year"')]
    for value in ("58.1%", "53.5%", "65.1%", "55.8%"):  # 37,500, 34,500, 42,000 and 36,000 of 64,500
        assert value in quarter
    assert html.count("2 at-risk accounts, $6,000") == 2
    year = client.get("/outlook/forecast/", {"scope": "company", "granularity": "year"}).context["found"].forecast
    # 35,000, 33,000, 42,000 and 36,000 of 62,000
    assert (year.measured_grr, year.forecast_grr, year.measured_nrr, year.forecast_nrr) == (
        D("0.5645"),
        D("0.5323"),
        D("0.6774"),
        D("0.5806"),
    )
    assert [e.grr_loss for e in year.effects] == [2000, 0]


def test_the_accounts_behind_the_forecast_one_click_away(client, world):
    client.force_login(world["executive"])
    response = client.get("/outlook/forecast/", {"scope": "company", "granularity": "quarter"})
    f = response.context["found"].forecast
    assert (f.forecast_grr, f.forecast_nrr) == (D("0.5349"), D("0.5581"))  # 34,500 and 36,000 of 64,500
    assert [(e.account.customer_id, e.loss, e.grr_loss) for e in f.effects] == [
        (world["acme"].pk, 5000, 2000),
        (world["zeta"].pk, 1000, 1000),
    ]
    assert [cid for cid, *_ in response.context["not_counted"]] == [world["gamma"].pk]
    assert "/outlook/forecast/?scope=company&amp;granularity=quarter" in client.get("/company/").content.decode()


def test_team_and_owner_pages_show_their_own_forecast(client, world):
    """CS East (CSM) Q4: Acme, Beta (Ann), Gamma (Cid): starting 48,000, kept 21,000, ending 24,000;
    Acme's 5,000 takes GRR to 19,000 and NRR to 19,000."""
    client.force_login(world["lead"])
    html = panel(client, f"/teams/{world['east'].pk}/")
    assert "43.8%" in html and "50.0%" in html and html.count("39.6%") == 4  # the year's cohort is the quarter's
    response = client.get(
        "/outlook/forecast/", {"scope": "team", "key": world["east"].pk, "role": "csm", "granularity": "quarter"}
    )
    assert [e.account.customer_id for e in response.context["found"].forecast.effects] == [world["acme"].pk]
    owner = panel(client, f"/owners/{world['ann'].pk}/")  # Acme 14,000 and Beta 24,000: kept 14,000 -> 12,000
    assert "36.8%" in owner and "31.6%" in owner


def test_a_lead_cannot_open_another_teams_forecast(client, world):
    client.force_login(world["west_lead"])
    assert (
        client.get("/outlook/forecast/", {"scope": "team", "key": world["east"].pk, "role": "csm"}).status_code == 404
    )
    assert client.get("/outlook/forecast/", {"scope": "company"}).status_code == 404


def test_a_new_mark_changes_the_cached_company_page(client, world):
    client.force_login(world["executive"])
    assert "2 at-risk accounts" in panel(client, "/company/")
    RiskMark.objects.create(customer=world["acme"], status="healthy", noted_on=TODAY)
    assert "1 at-risk account," in panel(client, "/company/")


# --- the customer page --------------------------------------------------------------------------


def page_url(customer) -> str:
    return f"/customers/{customer.pk}/"  # the one customer page (operations:customer)


def mark_url(customer) -> str:
    return f"/outlook/customers/{customer.pk}/risk/"  # where its risk form posts


def test_the_customer_page_shows_lines_renewals_and_the_risk_history(client, world):
    client.force_login(world["ann"])
    response = client.get(page_url(world["acme"]))
    page = response.content.decode()
    assert response.status_code == 200 and response.context["may_mark"]
    assert 'data-testid="risk-form"' in page and f'action="{mark_url(world["acme"])}"' in page
    assert [m.status for m in response.context["marks"]] == ["at_risk", "healthy"]  # newest first, history kept
    assert "Champion left" in page and "$5,000" in page
    assert [(line.external_id, r.status if r else None) for line, r in response.context["line_renewals"]] == [
        ("L1", None),
        ("L11", "open"),
        ("L2", None),
    ]
    assert 'data-line="L11"' in page and '<span class="rn rn-open">' in page


def test_the_old_outlook_customer_address_is_gone(client, world):
    client.force_login(world["ann"])
    assert client.get(f"/outlook/customers/{world['acme'].pk}/").status_code == 404
    assert client.get(mark_url(world["acme"])).status_code == 405  # the form posts; nothing to read there


def test_an_owner_marks_its_account_and_every_change_is_kept(client, world):
    client.force_login(world["ann"])
    response = client.post(
        mark_url(world["acme"]),
        {"status": "likely_to_churn", "expected_loss": "", "noted_on": "2026-11-20", "note": "Budget cut"},
    )
    assert response.status_code == 302 and response["Location"] == f"{page_url(world['acme'])}#risk"
    latest = RiskMark.objects.filter(customer=world["acme"]).latest("id")
    assert (latest.status, latest.expected_loss, latest.noted_on, latest.recorded_by) == (
        "likely_to_churn",
        0,
        date(2026, 11, 20),
        world["ann"],
    )
    assert RiskMark.objects.filter(customer=world["acme"]).count() == 3
    page = client.get(page_url(world["acme"])).content.decode()
    assert "Risk mark saved." in page and "Budget cut" in page


def test_bad_marks_say_why_and_save_nothing(client, world):
    client.force_login(world["lead"])  # Ann's lead may mark
    url = mark_url(world["acme"])
    before = RiskMark.objects.count()
    response = client.post(url, {"status": "at_risk", "expected_loss": "", "noted_on": "2026-11-20"})
    page = response.content.decode()
    assert "An account at risk needs the ARR expected to be lost" in page
    assert (
        response.templates[0].name == "operations/customer.html" and 'data-testid="lines"' in page
    )  # the whole page again
    page = client.post(url, {"status": "healthy", "expected_loss": "10", "noted_on": "2026-11-30"}).content.decode()
    assert "The date cannot be in the future." in page and "A healthy account has no expected loss" in page
    page = client.post(url, {"status": "at_risk", "expected_loss": "-5", "noted_on": "2026-11-20"}).content.decode()
    assert "greater than or equal to 0" in page
    assert RiskMark.objects.count() == before


def test_only_owners_their_leads_and_admins_mark_and_other_teams_get_404(client, world):
    url = page_url(world["acme"])
    client.force_login(world["executive"])
    response = client.get(url)
    assert (
        response.status_code == 200
        and not response.context["may_mark"]
        and 'data-testid="risk-form"' not in response.content.decode()
    )
    assert 'data-testid="risk-history"' in response.content.decode()  # the history is for everyone who sees the account
    assert client.post(mark_url(world["acme"]), {"status": "healthy", "noted_on": "2026-11-20"}).status_code == 403
    client.force_login(world["west_lead"])
    assert client.get(url).status_code == 404
    assert client.post(mark_url(world["acme"]), {"status": "healthy", "noted_on": "2026-11-20"}).status_code == 404
    client.force_login(world["amy"])  # Acme's AM
    assert client.get(url).context["may_mark"]
    client.force_login(world["admin"])
    assert client.get(page_url(world["zeta"])).context["may_mark"]
    assert RiskMark.objects.filter(customer=world["acme"]).count() == 2


def test_every_outlook_table_opens_the_one_customer_page(client, world):
    RiskMark.objects.create(customer=world["acme"], status="at_risk", expected_loss=5000, noted_on=TODAY)
    client.force_login(world["ann"])
    link = f'href="{page_url(world["acme"])}"'
    assert link in client.get("/outlook/renewals/", {"start": "2026-11-01", "end": "2027-03-31"}).content.decode()
    assert link in client.get(f"/owners/{world['ann'].pk}/").content.decode()
    assert (
        link
        in client.get("/outlook/forecast/", {"scope": "owner", "key": world["ann"].pk, "role": "csm"}).content.decode()
    )


# --- the API ------------------------------------------------------------------------------------


def test_risk_marks_through_the_api(world):
    from api_support import csv_rows, token_client

    ann = token_client(world["ann"])
    created = ann.post(
        "/api/v1/risk-marks/",
        {
            "customer": "C1",
            "status": "at_risk",
            "expected_loss": "2500",
            "noted_on": "2026-11-22",
            "note": "QBR cancelled",
        },
    )
    assert created.status_code == 201, created.content
    assert created.json()["recorded_by"] == "ann@example.com"
    rows = ann.get("/api/v1/risk-marks/", {"customer": "C1"}).json()["results"]
    assert [(r["status"], r["expected_loss"]) for r in rows] == [
        ("at_risk", "2500.00"),
        ("at_risk", "5000.00"),
        ("healthy", "0.00"),
    ]
    assert [r["status"] for r in csv_rows(ann.get("/api/v1/risk-marks/", {"customer": "C1", "format": "csv"}))] == [
        "at_risk",
        "at_risk",
        "healthy",
    ]
    bad = ann.post("/api/v1/risk-marks/", {"customer": "C1", "status": "at_risk", "noted_on": "2026-11-22"})
    assert bad.status_code == 400 and "expected_loss" in bad.json()
    # Delta is Bob's (CS West): not Ann's to see, so not a customer she can name.
    assert (
        ann.post("/api/v1/risk-marks/", {"customer": "C4", "status": "healthy", "noted_on": "2026-11-22"}).status_code
        == 400
    )
    executive = token_client(world["executive"])
    assert (
        executive.post(
            "/api/v1/risk-marks/", {"customer": "C1", "status": "healthy", "noted_on": "2026-11-22"}
        ).status_code
        == 403
    )
    assert RiskMark.objects.filter(customer=world["acme"]).count() == 3


def test_a_risk_mark_for_a_customer_id_with_a_nul_byte_is_a_400_not_a_500(world):
    from api_support import token_client

    bad = token_client(world["ann"]).post(
        "/api/v1/risk-marks/", {"customer": "C\x001", "status": "healthy", "noted_on": "2026-11-22"}
    )
    assert bad.status_code == 400 and "customer" in bad.json()
