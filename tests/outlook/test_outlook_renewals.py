"""Renewals (SPEC section 8): the status rule at the grace boundary, and the view, API and CSV."""

from datetime import date
from decimal import Decimal

import pytest

from outlook.models import RiskMark
from outlook.renewals import LAPSED, OPEN, RENEWED, Renewal, renewal_status, summarize
from tests.api_support import csv_rows, token_client
from tests.outlook_support import DEC_31, SEP_1, build_outlook_company

END = date(2026, 10, 14)  # with 30 grace days the window is 10-15 .. 11-13


# --- the rule ---------------------------------------------------------------------------------


def test_a_line_starting_on_the_last_day_of_the_window_renews_one_a_day_later_does_not():
    assert renewal_status(END, [date(2026, 11, 13)], 30, today=date(2026, 12, 1)) == RENEWED
    assert renewal_status(END, [date(2026, 11, 14)], 30, today=date(2026, 12, 1)) == LAPSED


def test_open_through_the_last_day_of_the_window_lapsed_the_day_after():
    assert renewal_status(END, [], 30, today=date(2026, 11, 13)) == OPEN
    assert renewal_status(END, [], 30, today=date(2026, 11, 14)) == LAPSED


def test_the_day_after_the_end_renews_and_a_signed_renewal_starting_later_counts_before_it_starts():
    assert renewal_status(END, [date(2026, 10, 15)], 30, today=date(2026, 10, 1)) == RENEWED


def test_a_line_starting_on_or_before_the_end_date_is_not_a_renewal():
    # The same day is the one-day overlap the importer warns about; earlier lines run alongside.
    assert renewal_status(END, [END, date(2026, 1, 1)], 30, today=date(2026, 10, 20)) == OPEN


def test_grace_days_move_the_boundary():
    assert renewal_status(END, [date(2026, 11, 20)], 30, today=date(2026, 12, 1)) == LAPSED
    assert renewal_status(END, [date(2026, 11, 20)], 37, today=date(2026, 12, 1)) == RENEWED
    assert renewal_status(END, [], 45, today=date(2026, 11, 23)) == OPEN


def renewal(end, arr, status, owner, risk=""):
    return Renewal(
        1,
        "L",
        1,
        "C",
        "C1",
        "Core",
        end,
        Decimal(arr),
        status,
        {"csm": (1, owner), "am": (None, None)},
        {"csm": (None, None), "am": (None, None)},
        risk,
        None,
    )


def test_summaries_split_the_arr_by_status_month_and_owner():
    rows = [
        renewal(date(2026, 9, 30), "10000", RENEWED, "cid@x"),
        renewal(date(2026, 9, 30), "8000", RENEWED, "bob@x"),
        renewal(date(2026, 10, 14), "24000", LAPSED, "ann@x"),
        renewal(date(2026, 11, 10), "1500", OPEN, "bob@x", risk="likely_to_churn"),
        renewal(date(2026, 12, 15), "2000", OPEN, "ann@x", risk="healthy"),
    ]
    s = summarize(rows, "csm")
    assert (s.total.up, s.total.renewed, s.total.lapsed, s.total.open, s.total.at_risk) == (
        45500,
        18000,
        24000,
        3500,
        1500,
    )
    assert s.total.renewal_rate == Decimal("0.4286")  # 18,000 / (18,000 + 24,000)
    assert [(m.key, m.up) for m in s.by_month] == [
        (date(2026, 9, 1), 18000),
        (date(2026, 10, 1), 24000),
        (date(2026, 11, 1), 1500),
        (date(2026, 12, 1), 2000),
    ]
    assert [(o.key, o.up) for o in s.by_owner] == [("ann@x", 26000), ("cid@x", 10000), ("bob@x", 9500)]
    assert summarize([renewal(date(2026, 12, 15), "2000", OPEN, "ann@x")], "csm").total.renewal_rate is None


# --- the view -----------------------------------------------------------------------------------


@pytest.fixture
def world(db, on_today):
    return build_outlook_company()


RANGE = {"start": SEP_1.isoformat(), "end": DEC_31.isoformat()}


def lines_of(response):
    return [(r.line_external_id, r.status) for r in response.context["rows"]]


def test_an_admin_sees_every_line_by_date_with_status_and_totals(client, world):
    client.force_login(world["admin"])
    response = client.get("/outlook/renewals/", RANGE)
    assert response.status_code == 200
    assert lines_of(response) == [("L6", RENEWED), ("L4", RENEWED), ("L3", LAPSED), ("L10", OPEN), ("L11", OPEN)]
    total = response.context["summaries"].total
    assert (total.up, total.renewed, total.lapsed, total.open) == (45500, 18000, 24000, 3500)
    page = response.content.decode()
    assert "$45,500" in page and "Lapsed" in page


def test_risk_marks_show_on_the_lines_and_in_the_at_risk_total(client, world):
    RiskMark.objects.create(customer=world["acme"], status="healthy", noted_on=date(2026, 10, 1))
    RiskMark.objects.create(
        customer=world["acme"], status="at_risk", expected_loss=Decimal("1000"), noted_on=date(2026, 11, 2)
    )
    client.force_login(world["admin"])
    response = client.get("/outlook/renewals/", RANGE)
    acme = next(r for r in response.context["rows"] if r.line_external_id == "L11")
    assert (acme.risk, acme.expected_loss) == ("at_risk", Decimal("1000.00"))
    assert response.context["summaries"].total.at_risk == 2000
    assert "At risk" in response.content.decode()


def test_the_grace_days_setting_keeps_a_line_open_longer(client, world, settings):
    settings.RENEWAL_GRACE_DAYS = 45  # Beta's window now runs to 11-28, after TODAY
    client.force_login(world["admin"])
    assert ("L3", OPEN) in lines_of(client.get("/outlook/renewals/", RANGE))


def test_a_lead_sees_its_teams_lines_and_gets_404_for_another_team_or_owner(client, world):
    client.force_login(world["lead"])
    response = client.get("/outlook/renewals/", RANGE)
    assert [line for line, _ in lines_of(response)] == ["L4", "L3", "L11"]
    assert client.get("/outlook/renewals/", {**RANGE, "team": world["west"].pk}).status_code == 404
    assert client.get("/outlook/renewals/", {**RANGE, "owner": world["bob"].pk}).status_code == 404
    by_owner = client.get("/outlook/renewals/", {**RANGE, "owner": world["ann"].pk})
    assert [line for line, _ in lines_of(by_owner)] == ["L3", "L11"]


def test_a_member_sees_its_own_lines_and_an_am_its_am_book(client, world):
    client.force_login(world["ann"])
    assert [line for line, _ in lines_of(client.get("/outlook/renewals/", RANGE))] == ["L3", "L11"]
    client.force_login(world["amy"])
    response = client.get("/outlook/renewals/", {**RANGE, "role": "am"})
    assert [line for line, _ in lines_of(response)] == ["L6", "L10", "L11"]
    assert [(o.key, o.up) for o in response.context["summaries"].by_owner] == [("amy@example.com", Decimal("11500"))]


def test_status_filter_and_a_bad_range_says_why(client, world):
    client.force_login(world["admin"])
    assert lines_of(client.get("/outlook/renewals/", {**RANGE, "status": "open"})) == [("L10", OPEN), ("L11", OPEN)]
    response = client.get("/outlook/renewals/", {"start": "2026-12-01", "end": "2026-11-01"})
    assert response.status_code == 200 and "The end of the range is before its start." in response.content.decode()
    assert response.context["rows"] == []


def test_the_page_csv_lists_the_same_lines(client, world):
    client.force_login(world["lead"])
    rows = csv_rows(client.get("/outlook/renewals/", {**RANGE, "format": "csv"}))
    assert [(r["line_external_id"], r["status"], r["arr"], r["csm_owner"], r["csm_team"]) for r in rows] == [
        ("L4", "renewed", "10000.00", "cid@example.com", "CS East"),
        ("L3", "lapsed", "24000.00", "ann@example.com", "CS East"),
        ("L11", "open", "2000.00", "ann@example.com", "CS East"),
    ]


def test_the_owner_page_lists_the_next_90_days(client, world):
    client.force_login(world["ann"])
    response = client.get(f"/owners/{world['ann'].pk}/")
    page = response.content.decode()
    section = page[page.index('data-testid="owner-renewals"') :]
    section = section[: section.index("</table>")]
    assert "Acme" in section and "2026-12-15" in section and "Beta" not in section  # Beta ended before today
    assert "Renewals in the next 90 days" in page


def test_renewals_are_in_the_navigation(client, world):
    client.force_login(world["ann"])
    assert 'href="/outlook/renewals/"' in client.get(f"/owners/{world['ann'].pk}/").content.decode()


# --- the API ------------------------------------------------------------------------------------


def test_the_api_answers_json_and_csv_with_the_same_columns(world):
    client = token_client(world["lead"])
    params = {"from": SEP_1.isoformat(), "to": DEC_31.isoformat()}
    data = client.get("/api/v1/renewals/", params).json()
    assert data["count"] == 3
    first = data["results"][0]
    assert first["line_external_id"] == "L4" and first["status"] == "renewed" and first["arr"] == "10000.00"
    rows = csv_rows(client.get("/api/v1/renewals/", {**params, "format": "csv"}))
    assert list(rows[0]) == list(first)
    assert [r["line_external_id"] for r in rows] == [r["line_external_id"] for r in data["results"]]


def test_the_api_filters_by_team_owner_status_and_answers_404_outside_the_scope(world):
    client = token_client(world["lead"])
    params = {"from": SEP_1.isoformat(), "to": DEC_31.isoformat()}
    assert client.get("/api/v1/renewals/", {**params, "team": "CS West"}).status_code == 404
    assert client.get("/api/v1/renewals/", {**params, "owner": "bob@example.com"}).status_code == 404
    only = client.get("/api/v1/renewals/", {**params, "owner": "ann@example.com", "status": "open"}).json()["results"]
    assert [r["line_external_id"] for r in only] == ["L11"]
    bad = client.get("/api/v1/renewals/", {"from": "2026-12-01", "to": "2026-11-01"})
    assert bad.status_code == 400 and "to" in bad.json()
    assert (
        token_client(world["admin"]).get("/api/v1/renewals/", {**params, "team": "CS West"}).json()["count"] == 2
    )  # Bob's two Delta lines


def test_the_default_range_is_this_month_and_the_next_two(world):
    data = token_client(world["admin"]).get("/api/v1/renewals/").json()  # 2026-11-01 .. 2027-01-31
    assert [r["line_external_id"] for r in data["results"]] == ["L10", "L11"]


# --- customer attributes (issue 12 point 1: any scope the user may see) -------------------------


def test_the_page_filters_by_customer_attributes_and_totals_follow(client, world):
    client.force_login(world["admin"])
    smb = client.get("/outlook/renewals/", {**RANGE, "segment": "SMB"})
    assert [line for line, _ in lines_of(smb)] == ["L6", "L4", "L10"]  # Delta, Gamma, Delta
    assert smb.context["summaries"].total.up == Decimal("19500")  # 8,000 + 10,000 + 1,500
    emea = client.get("/outlook/renewals/", {**RANGE, "region": "EMEA"})
    assert [line for line, _ in lines_of(emea)] == ["L6", "L10", "L11"]  # Delta, Delta, Acme
    assert emea.context["summaries"].total.up == Decimal("11500")
    both = client.get("/outlook/renewals/", {**RANGE, "region": "NA", "industry": "Retail"})
    assert [line for line, _ in lines_of(both)] == ["L4"]  # Gamma only
    # No customer has a use case: every line is 'unknown'; only Zeta has no segment and it never ends.
    assert len(lines_of(client.get("/outlook/renewals/", {**RANGE, "use_case": "unknown"}))) == 5
    assert lines_of(client.get("/outlook/renewals/", {**RANGE, "segment": "unknown"})) == []
    page = emea.content.decode()
    assert 'name="segment"' in page and '<option value="unknown">unknown</option>' in page  # Zeta's empty segment


def test_a_lead_filters_its_own_lines_by_attribute_and_the_csv_follows(client, world):
    client.force_login(world["lead"])
    response = client.get("/outlook/renewals/", {**RANGE, "segment": "Enterprise"})
    assert [line for line, _ in lines_of(response)] == ["L3", "L11"]  # Beta, Acme (Delta is CS West)
    assert response.context["summaries"].total.up == Decimal("26000")
    rows = csv_rows(client.get("/outlook/renewals/", {**RANGE, "region": "EMEA", "format": "csv"}))
    assert [r["line_external_id"] for r in rows] == ["L11"]
    assert "segment=Enterprise" in response.context["csv_url"]


def test_an_attribute_value_nobody_visible_has_is_an_error_on_the_page(client, world):
    client.force_login(world["lead"])
    response = client.get("/outlook/renewals/", {**RANGE, "region": "Mars"})
    assert response.status_code == 200 and response.context["rows"] == []
    assert "Select a valid choice" in response.content.decode()


def test_the_api_filters_by_customer_attributes_and_says_which_values_exist(world):
    params = {"from": SEP_1.isoformat(), "to": DEC_31.isoformat()}
    lead = token_client(world["lead"])
    only = lead.get("/api/v1/renewals/", {**params, "region": "EMEA"}).json()["results"]
    assert [r["line_external_id"] for r in only] == ["L11"]
    rows = csv_rows(lead.get("/api/v1/renewals/", {**params, "segment": "Enterprise", "format": "csv"}))
    assert [r["line_external_id"] for r in rows] == ["L3", "L11"]
    bad = lead.get("/api/v1/renewals/", {**params, "region": "Mars"})
    assert bad.status_code == 400 and "Mars" in bad.json()["region"][0]
    admin = token_client(world["admin"])
    assert admin.get("/api/v1/renewals/", {**params, "segment": "unknown"}).json()["count"] == 0
    assert (
        admin.get("/api/v1/renewals/", {**params, "segment": "SMB", "industry": "Health"}).json()["count"] == 2
    )  # Delta's
