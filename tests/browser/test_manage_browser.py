"""Issue 11 in headless chromium: an admin imports files with a preview, opens a customer's page
from the tables, moves a book, manages people and teams; a lead moves accounts in its team."""

import pytest
from playwright.sync_api import expect

from accounts.models import Role, User
from metrics.models import ContractLine, Customer
from operations.models import ImportRun
from tests.browser.test_pages_browser import shoot, sign_in
from tests.test_import import BASE, changed
from web_support import PASSWORD, fast_password_hashing  # noqa: F401 (autouse)

pytestmark = pytest.mark.browser


@pytest.fixture
def in_process_tasks(settings):
    """The embedded default: tasks in a background thread of the web process."""
    settings.CELERY_TASK_ALWAYS_EAGER = True


def upload(page, files: dict[str, str]):
    page.set_input_files("#id_files", [{"name": n, "mimeType": "text/csv", "buffer": t.encode()} for n, t in files.items()])
    page.get_by_role("button", name="Upload and preview").click()


def test_admin_previews_fixes_and_applies_an_import(page, live_server, transactional_db, in_process_tasks):
    User.objects.create_user("admin@example.com", PASSWORD, role=Role.ADMIN, full_name="Ada Admin")
    sign_in(page, live_server, "admin@example.com")
    page.get_by_role("link", name="Manage").click()
    expect(page.get_by_role("heading", name="Import CSV files")).to_be_visible()

    # A negative ARR: the preview lists the error by file, line and column; nothing is saved.
    upload(page, changed("contracts.csv", "1200.5,usd", "-1200.5,usd"))
    expect(page.get_by_test_id("import-status")).to_have_text("Rejected (errors)", timeout=20000)
    errors = page.get_by_test_id("import-errors").locator("tbody tr")
    expect(errors).to_have_count(1)
    expect(errors.first).to_contain_text("contracts.csv")
    expect(errors.first.locator("td").nth(1)).to_have_text("4")
    expect(errors.first.locator("td").nth(2)).to_have_text("arr")
    expect(errors.first).to_contain_text("ARR cannot be negative (-1200.5)")
    expect(page.get_by_test_id("apply")).to_have_count(0)
    shoot(page, "import-rejected")
    assert not Customer.objects.exists()

    # Fixed: the preview counts what each file creates; apply; the outcome and the history.
    page.get_by_role("link", name="Back to the imports").click()
    upload(page, BASE)
    expect(page.get_by_test_id("import-status")).to_have_text("Preview ready", timeout=20000)
    counts = page.get_by_test_id("preview-counts")
    expect(counts.locator("tr[data-file='contracts.csv'] td").nth(1)).to_have_text("3")
    expect(counts.locator("tr[data-file='customers.csv'] td").nth(1)).to_have_text("2")
    assert not Customer.objects.exists()
    shoot(page, "import-preview")
    page.get_by_test_id("apply").click()
    expect(page.get_by_test_id("import-status")).to_have_text("Applied", timeout=20000)
    expect(page.get_by_test_id("result-counts").locator("tr[data-file='assignments.csv'] td").nth(1)).to_have_text("4")
    assert Customer.objects.count() == 2 and ContractLine.objects.count() == 3

    # A change: the preview shows the old value and the new one.
    page.get_by_role("link", name="Back to the imports").click()
    upload(page, {"contracts.csv": BASE["contracts.csv"].replace("L-3,C-2,Core,2024-02-01,,1200.5", "L-3,C-2,Core,2024-02-01,,1800")})
    expect(page.get_by_test_id("import-status")).to_have_text("Preview ready", timeout=20000)
    change = page.get_by_test_id("sample-change").first
    expect(change).to_contain_text("L-3")
    expect(change).to_contain_text("1200.50")
    expect(change).to_contain_text("1800.00")
    page.get_by_role("button", name="Discard").click()

    history = page.get_by_test_id("import-history").locator("tbody tr")
    expect(history).to_have_count(3)
    expect(history.nth(0).get_by_test_id("import-outcome")).to_have_text("Discarded")
    expect(history.nth(1).get_by_test_id("import-outcome")).to_have_text("Applied")
    expect(history.nth(2).get_by_test_id("import-outcome")).to_have_text("Rejected (errors)")
    expect(history.nth(1)).to_contain_text("admin@example.com")
    with page.expect_download() as download:
        history.nth(1).get_by_role("link", name="contracts.csv").click()
    assert open(download.value.path()).read() == BASE["contracts.csv"]
    shoot(page, "import-history")
    assert ContractLine.objects.get(external_id="L-3").arr == 1200.5
    assert ImportRun.objects.count() == 3
