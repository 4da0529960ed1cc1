"""Closing a quarter in the browser, a correction inside it, the restated mark and the report.

Figures of ``web_support``'s company (see tests/test_closing.py): Q3 2026 reported with churn 0
and ending ARR 60,000; Beta's line corrected to end Aug 31 makes the live churn 24,000.
"""

from datetime import date

import pytest
from playwright.sync_api import expect

from metrics import recompute
from metrics.models import ContractLine
from tests.browser_support import shoot, sign_in
from tests.web_support import TODAY

pytestmark = pytest.mark.browser
Q3 = "granularity=quarter&period=2026-07-01"


def test_close_a_quarter_then_a_correction_shows_restated(page, live_server, company):
    sign_in(page, live_server, "admin@example.com")
    page.goto(f"{live_server.url}/company/?{Q3}")
    page.get_by_test_id("close-button").click()
    expect(page.locator(".messages")).to_contain_text("is closed")
    expect(page.get_by_test_id("closed-notice")).to_contain_text("closed")
    expect(page.get_by_test_id("restated")).to_have_count(0)  # nothing moved yet

    line = ContractLine.objects.get(external_id="L3")
    line.end_date = date(2026, 8, 31)
    line._history_user = company["admin"]
    line.save()
    recompute.process_pending(TODAY)

    page.goto(f"{live_server.url}/company/?{Q3}")
    figures = page.get_by_test_id("figures")
    churn = figures.locator("div", has=page.locator("a.fig[data-figure=churn]"))
    expect(churn.locator("a.fig")).to_have_text("$0")  # the reported figure
    mark = churn.get_by_test_id("restated")
    expect(mark).to_be_visible()
    mark.locator("summary").click()
    expect(mark.get_by_test_id("live-value")).to_have_text("$24,000")
    expect(mark.get_by_test_id("restated-difference")).to_have_text("+$24,000")
    nrr = figures.locator("div.rate", has=page.locator("a.fig[data-figure=nrr]"))
    expect(nrr.locator("a.fig")).to_have_text("100.0%")
    expect(
        page.get_by_test_id("teams-csm").get_by_test_id("restated").first
    ).to_be_visible()  # the team table says it too
    shoot(page, "closing-company-restated")

    # The drill-down behind the reported churn: as reported (no account), the live one a click away.
    churn.locator("a.fig").click()
    expect(page.get_by_test_id("drill-closed-notice")).to_contain_text("as reported")
    expect(page.get_by_test_id("drill-rows")).to_contain_text("No accounts.")
    page.get_by_test_id("show-live").click()
    expect(page.get_by_test_id("drill-rows")).to_contain_text("Beta")

    # The restatement report, from the site's own navigation.
    page.get_by_role("link", name="Closed periods").click()
    page.get_by_role("link", name="Restatement report").first.click()
    beta = page.locator("[data-customer=C2]")
    expect(beta.locator("tr[data-figure=churn] [data-testid=before]").first).to_have_text("$0")
    expect(beta.locator("tr[data-figure=churn] [data-testid=after]").first).to_have_text("$24,000")
    expect(beta.get_by_test_id("customer-edits")).to_contain_text("contract line L3")
    expect(beta.get_by_test_id("customer-edits")).to_contain_text("admin@example.com")
    expect(page.locator("[data-customer]")).to_have_count(1)
    shoot(page, "closing-report")

    # Reopen with a reason; the history keeps the close.
    page.goto(f"{live_server.url}/company/?{Q3}")
    page.get_by_test_id("reopen-reason").fill("Beta's termination was booked late")
    page.get_by_test_id("reopen-button").click()
    expect(page.locator(".messages")).to_contain_text("reopened")
    expect(page.get_by_test_id("restated")).to_have_count(0)
    page.get_by_role("link", name="Closed periods").click()
    expect(page.get_by_test_id("closes")).to_contain_text("Beta's termination was booked late")
    shoot(page, "closing-list")
