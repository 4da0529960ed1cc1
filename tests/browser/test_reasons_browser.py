"""A team lead records a churn reason from the queue and sees the Pareto and the coverage change."""

from pathlib import Path

import pytest
from django.test import Client
from playwright.sync_api import expect

from tests.reasons_data import build_world

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def sign_in(page, live_server, user):
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


@pytest.mark.browser
def test_lead_records_a_reason_and_the_pareto_follows(page, live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    world = build_world()
    sign_in(page, live_server, world.users["lead_east"])

    # The Pareto before: East lost 9,000.00, only Crux's 2,500.00 has a reason.
    page.goto(f"{live_server.url}/reasons/pareto/")
    expect(page.get_by_test_id("coverage-share")).to_have_text("27.8%")
    rows = page.get_by_test_id("pareto-row")
    expect(rows.first).to_contain_text("no reason recorded")
    expect(rows.first).to_contain_text("$6,500")

    # The queue: Bolt then Acme, newest first; open Acme.
    page.goto(f"{live_server.url}/reasons/")
    queue = page.get_by_test_id("queue")
    expect(queue.locator("tbody tr")).to_have_count(2)
    expect(queue.locator("tbody tr").nth(0)).to_contain_text("Bolt")
    expect(queue.locator("tbody tr").nth(1)).to_contain_text("Acme")
    expect(queue).not_to_contain_text("Dyn")  # the West team's case
    page.screenshot(path=str(SHOTS / "reasons-queue-before.png"), full_page=True)
    queue.get_by_role("link", name="Acme").click()

    # A second-ranked secondary reason without the first is refused, with the reason why.
    page.select_option("#id_primary_reason", "competitor")
    page.select_option("#id_secondary_reason_2", "cost")
    page.fill("#id_notes", "Moved to a cheaper rival after the renewal call.")
    page.get_by_role("button", name="Save reasons").click()
    expect(page.get_by_test_id("error-secondary_reason_2")).to_have_text(
        "Give the first secondary reason before the second."
    )
    expect(page.get_by_test_id("case-primary")).to_have_text("no reason recorded")
    page.screenshot(path=str(SHOTS / "reasons-case-error.png"), full_page=True)

    # Fixed: the first secondary reason is Cost, the second none; saved, back to the queue.
    page.select_option("#id_secondary_reason_1", "cost")
    page.select_option("#id_secondary_reason_2", "")
    page.get_by_role("button", name="Save reasons").click()
    expect(page).to_have_url(f"{live_server.url}/reasons/")
    expect(page.locator(".messages")).to_contain_text("Reasons recorded for Acme")
    expect(page.get_by_test_id("queue").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("coverage-share")).to_have_text("83.3%")  # 7,500 / 9,000
    page.screenshot(path=str(SHOTS / "reasons-queue-after.png"), full_page=True)

    # The case keeps the edit with who recorded it.
    page.goto(f"{live_server.url}/reasons/cases/{world.cases['acme'].pk}/")
    expect(page.get_by_test_id("case-primary")).to_have_text("Moved to a competitor")
    expect(page.get_by_test_id("history").locator("tbody tr").first).to_contain_text("Lena East")
    expect(page.get_by_test_id("history").locator("tbody tr").first).to_contain_text("Moved to a competitor")

    # The Pareto after: the new reason leads by lost ARR, drawn as bars with a cumulative line.
    page.goto(f"{live_server.url}/reasons/pareto/")
    expect(page.get_by_test_id("coverage-share")).to_have_text("83.3%")
    expect(page.locator("#pareto-chart")).to_have_attribute("data-ready", "true")
    assert page.evaluate("window.reasonsParetoChart.data.datasets.map(d => d.type)") == ["bar", "line"]
    assert page.evaluate("window.reasonsParetoChart.data.labels") == [
        "Moved to a competitor",
        "Cost",
        "no reason recorded",
    ]
    assert page.evaluate("window.reasonsParetoChart.data.datasets[1].data") == [55.56, 83.33, 100]
    expect(rows.first).to_contain_text("Moved to a competitor")
    page.screenshot(path=str(SHOTS / "reasons-pareto-lost-arr.png"), full_page=True)

    # Switched to counts: one case each, ties by label.
    page.select_option("select[name=order]", "count")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#pareto-chart")).to_have_attribute("data-ready", "true")
    assert page.evaluate("window.reasonsParetoChart.data.labels") == [
        "Cost",
        "Moved to a competitor",
        "no reason recorded",
    ]
    expect(page.get_by_test_id("pareto-table").locator("caption")).to_have_text("Shares are of the case count.")
    page.screenshot(path=str(SHOTS / "reasons-pareto-count.png"), full_page=True)

    # Every number opens to the accounts behind it.
    rows.filter(has_text="no reason recorded").get_by_role("link").first.click()
    expect(page.get_by_test_id("case-list").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("case-list")).to_contain_text("Bolt")
