"""Issue 11 in headless chromium: an admin imports files with a preview, opens a customer's page
from the tables, moves a book, manages people and teams; a lead moves accounts in its team."""

import pytest
from playwright.sync_api import expect

from accounts.models import Role, User
from metrics.models import ContractLine, Customer
from operations.models import ImportRun
from tests.browser.test_pages_browser import shoot, sign_in
from tests.test_import import BASE, changed
from web_support import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def leave_the_reason_taxonomy_behind(django_db_blocker):
    """Live-server and worker tests end with a flush that empties the seeded reason taxonomy:
    seed it again for the tests that come next (as tests/browser/test_pages_browser.py does)."""
    yield
    from metrics.models import ChurnReason
    from metrics.taxonomy import seed_reasons

    with django_db_blocker.unblock():
        seed_reasons(ChurnReason)


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


def test_lead_opens_a_customer_from_a_book_and_moves_an_account_within_the_team(page, live_server, transactional_db):
    from web_support import OCTOBER, build_company

    world = build_company()
    sign_in(page, live_server, "lena@example.com")
    page.goto(f"{live_server.url}/owners/{world['ann'].pk}/?granularity=month&period={OCTOBER.isoformat()}")
    page.get_by_test_id("movers").get_by_role("link", name="Acme").click()
    expect(page.get_by_test_id("customer-name")).to_contain_text("Acme")
    expect(page.get_by_test_id("customer-attributes")).to_contain_text("Enterprise")
    expect(page.get_by_test_id("arr-today")).to_have_text("$15,000")
    expect(page.locator("#arr-chart")).to_have_attribute("data-ready", "true")
    assert page.evaluate("window.customerArrChart.data.datasets.map(d => d.label)") == ["Add-on", "Core"]
    assert page.evaluate("window.customerArrChart.data.datasets[1].data.slice(-1)[0]") == 12000
    expect(page.get_by_test_id("timeline").locator(".tl-bar")).to_have_count(2)
    # Its figures in the period picked: October, an expansion owned by Ann.
    page.select_option("select[name=period]", OCTOBER.isoformat())
    total = page.get_by_test_id("customer-figures").locator("tbody tr").first
    expect(total).to_contain_text("All products")
    expect(total).to_contain_text("$12,000")
    expect(total).to_contain_text("$15,000")
    expect(total).to_contain_text("ann@example.com")
    shoot(page, "customer-page")

    # The lead hands Acme's CSM seat to Cid, a member of the same team, from Dec 1.
    form = page.get_by_test_id("assign-form")
    form.locator("select[name=assign-role]").select_option("csm")
    form.locator("select[name=assign-user]").select_option(label="Cid CSM (cid@example.com)")
    form.locator("input[name=assign-start_date]").fill("2026-12-01")
    form.get_by_role("button", name="Assign").click()
    expect(page.locator(".messages")).to_contain_text("cid@example.com is the csm from 2026-12-01")
    owners = page.get_by_test_id("owners").locator("tbody tr")
    expect(owners.filter(has_text="Cid CSM")).to_contain_text("2026-12-01")
    expect(owners.filter(has_text="Ann CSM")).to_contain_text("2026-11-30")
    # Bob is in another team: not offered.
    assert page.get_by_test_id("assign-form").locator("option", has_text="bob@example.com").count() == 0
    # The rest of Ann's CSM book (Beta) goes to Cid from Dec 15, from the Books page.
    page.locator(".topbar nav").get_by_role("link", name="Books").click()
    form = page.get_by_test_id("move-form")
    form.locator("select[name=from_user]").select_option(label="Ann CSM (ann@example.com)")
    form.locator("select[name=role]").select_option("csm")
    form.locator("select[name=to_user]").select_option(label="Cid CSM (cid@example.com)")
    form.locator("input[name=start_date]").fill("2026-12-15")
    form.get_by_role("button", name="Preview").click()
    expect(page.get_by_test_id("move-heading")).to_have_text("1 account of Ann CSM goes to Cid CSM (csm) from 2026-12-15")
    expect(page.get_by_test_id("move-preview").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("move-preview")).to_contain_text("Beta")
    assert page.locator("select[name=to_user] option", has_text="bob@example.com").count() == 0  # another team
    page.get_by_test_id("confirm-move").click()
    expect(page.locator(".messages")).to_contain_text("1 account of ann@example.com goes to cid@example.com from 2026-12-15")

    # Another team's customer is not this lead's to open.
    response = page.goto(f"{live_server.url}/customers/{world['delta'].pk}/")
    assert response.status == 404


def test_admin_moves_a_whole_book_with_a_preview(page, live_server, transactional_db):
    from metrics.models import Assignment, PendingRecompute
    from web_support import build_company

    world = build_company()
    sign_in(page, live_server, "admin@example.com")
    page.get_by_role("link", name="Manage").click()
    page.locator(".subnav").get_by_role("link", name="Books").click()
    form = page.get_by_test_id("move-form")
    form.locator("select[name=from_user]").select_option(label="Ann CSM (ann@example.com)")
    form.locator("select[name=role]").select_option("csm")
    form.locator("select[name=to_user]").select_option(label="Bob CSM (bob@example.com)")
    form.locator("input[name=start_date]").fill("2026-03-01")
    form.get_by_role("button", name="Preview").click()
    expect(page.get_by_test_id("move-heading")).to_have_text("2 accounts of Ann CSM go to Bob CSM (csm) from 2026-03-01")
    rows = page.get_by_test_id("move-preview").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Acme")
    expect(rows.nth(0)).to_contain_text("2026-02-28")
    shoot(page, "book-move-preview")
    assert not PendingRecompute.objects.exists()
    page.get_by_test_id("confirm-move").click()
    expect(page.locator(".messages")).to_contain_text("2 accounts of ann@example.com go to bob@example.com from 2026-03-01")
    assert Assignment.objects.get(customer=world["beta"], user=world["bob"]).start_date.isoformat() == "2026-03-01"
    assert Assignment.objects.get(customer=world["beta"], user=world["ann"]).end_date.isoformat() == "2026-02-28"


def test_admin_adds_a_person_moves_them_to_a_team_renames_it_and_deactivates_them(page, live_server, transactional_db):
    from accounts.models import Team, TeamMembership
    from web_support import build_company

    build_company()
    sign_in(page, live_server, "admin@example.com")
    page.get_by_role("link", name="Manage").click()
    page.locator(".subnav").get_by_role("link", name="People").click()
    form = page.get_by_test_id("create-user")
    form.locator("input[name=email]").fill("nia@example.com")
    form.locator("input[name=full_name]").fill("Nia New")
    form.locator("select[name=role]").select_option("member")
    form.locator("input[name=password]").fill("a-long-first-password-9")
    form.locator("select[name=team]").select_option(label="CS East")
    form.locator("input[name=team_from]").fill("2026-01-01")
    form.get_by_role("button", name="Create").click()
    expect(page.locator(".messages")).to_contain_text("nia@example.com was created.")
    expect(page.get_by_test_id("memberships").locator("tbody tr")).to_have_count(1)

    # A dated move to CS West from March: East ends Feb 28.
    move = page.get_by_test_id("team-move")
    move.locator("select[name=move-team]").select_option(label="CS West")
    move.locator("input[name=move-start_date]").fill("2026-03-01")
    move.get_by_role("button", name="Record the move").click()
    expect(page.locator(".messages")).to_contain_text("nia@example.com is in CS West from 2026-03-01")
    rows = page.get_by_test_id("memberships").locator("tbody tr")
    expect(rows.nth(0)).to_contain_text("CS West")
    expect(rows.nth(1)).to_contain_text("2026-02-28")
    shoot(page, "person")

    # Role change, then deactivation.
    edit = page.get_by_test_id("edit-user")
    edit.locator("select[name=edit-role]").select_option("lead")
    edit.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("nia@example.com saved.")
    page.get_by_test_id("edit-user").locator("input[name=edit-is_active]").uncheck()
    page.get_by_test_id("edit-user").get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("deactivated")).to_be_visible()

    # Teams: create one, rename another.
    page.locator(".subnav").get_by_role("link", name="Teams").click()
    create = page.get_by_test_id("create-team")
    create.locator("input[name=new-name]").fill("CS North")
    create.locator("select[name=new-function]").select_option("customer_success")
    create.get_by_role("button", name="Create").click()
    expect(page.get_by_test_id("teams")).to_contain_text("CS North")
    page.get_by_test_id("teams").get_by_role("link", name="CS West").click()
    page.get_by_test_id("edit-team").locator("input[name=name]").fill("CS Americas")
    page.get_by_test_id("edit-team").get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("renamed from CS West")
    expect(page.get_by_test_id("teams")).to_contain_text("CS Americas")
    shoot(page, "teams")
    assert TeamMembership.objects.filter(user__email="nia@example.com", team__name="CS Americas").exists()
    assert Team.objects.filter(name="CS North").exists()

    # The deactivated person cannot sign in.
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "nia@example.com")
    page.fill("#id_password", "a-long-first-password-9")
    page.click("form.stacked button[type=submit]")
    expect(page.locator("#id_username")).to_be_visible()
    expect(page.locator(".whoami")).to_have_count(0)
