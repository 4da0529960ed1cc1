"""Issue 11 point 5 in headless chromium: an admin edits a contract line from the customer's
page, a bad value is refused with the model's words, and the history shows the change."""

import pytest
from playwright.sync_api import expect

from metrics.models import ContractLine
from tests.browser.test_pages_browser import shoot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def leave_the_reason_taxonomy_behind(django_db_blocker):
    """Live-server tests end with a flush that empties the seeded reason taxonomy: seed it again."""
    yield
    from metrics.models import ChurnReason
    from metrics.taxonomy import seed_reasons

    with django_db_blocker.unblock():
        seed_reasons(ChurnReason)


def test_admin_ends_a_contract_line_and_sees_it_in_the_history(page, live_server, transactional_db):
    from web_support import build_company

    world = build_company()
    sign_in(page, live_server, "admin@example.com")
    page.get_by_role("link", name="Customers").click()
    page.get_by_role("link", name="Acme").first.click()
    expect(page.get_by_test_id("customer-name")).to_contain_text("Acme")
    expect(page.get_by_test_id("history")).to_contain_text("Line L1")

    page.get_by_test_id("end-line-L1").click()
    expect(page.get_by_role("heading", name="End line L1")).to_be_visible()
    form = page.get_by_test_id("edit-form")
    form.locator("input[name=end_date]").fill("2026-11-30")
    form.locator("input[name=arr]").fill("-100")
    form.get_by_role("button", name="End the line").click()
    expect(page.get_by_test_id("error-arr")).to_have_text("ARR cannot be negative.")
    shoot(page, "edit-line-refused")
    assert ContractLine.objects.get(external_id="L1").end_date is None

    form.locator("input[name=arr]").fill("12000")
    form.get_by_role("button", name="End the line").click()
    expect(page.locator(".messages")).to_contain_text("Line L1: saved. The figures are being recomputed.")
    lines = page.get_by_test_id("lines").locator("tbody tr")
    expect(lines.filter(has_text="L1")).to_contain_text("2026-11-30")
    latest = page.get_by_test_id("history").locator("tbody tr").first
    expect(latest).to_contain_text("admin@example.com")
    expect(latest).to_contain_text("Line L1")
    expect(latest).to_contain_text("to: — → 2026-11-30")
    expect(page.get_by_test_id("end-line-L1")).to_have_count(0)  # ended: no "End" link any more
    page.get_by_test_id("history").scroll_into_view_if_needed()
    shoot(page, "customer-history")
    assert ContractLine.objects.get(external_id="L1").end_date.isoformat() == "2026-11-30"
    assert world["acme"].pk
