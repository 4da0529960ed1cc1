"""SPEC section 7 in headless chromium: an admin changes an exchange rate from the navigation,
the company page reads like money (compact cards, bridge axis in $…K), the drill-down shows each
account's lines in their own currency beside the converted amounts. Screenshots at desktop and
phone width go to artifacts/screenshots/."""

import importlib
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from playwright.sync_api import expect

from accounts.models import Role, User
from metrics import recompute
from metrics.models import ContractLine, Customer, FxRate, PendingRecompute, RetentionSnapshot
from web_support import PASSWORD, fast_password_hashing  # noqa: F401 (autouse)

pytestmark = pytest.mark.browser
TODAY = date.today()
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def seed_reason_taxonomy():
    """A live-server test ends with a flush that empties the taxonomy: seed it again for whoever comes next."""
    migration = importlib.import_module("metrics.migrations.0002_overlap_constraints_and_reasons")
    migration.seed_reasons(django_apps, None)


@pytest.fixture(scope="module", autouse=True)
def leave_the_reason_taxonomy_behind(django_db_blocker):
    yield
    with django_db_blocker.unblock():
        seed_reason_taxonomy()


def sign_in(page, live_server, email):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("form.stacked button[type=submit]")
    page.wait_for_load_state("load")


def shoot(page, name):
    """Screenshots at both widths; at phone width nothing may stick out sideways."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for size_name, size in SIZES.items():
        page.set_viewport_size(size)
        page.wait_for_timeout(150)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{size_name}.png"), full_page=True)
        if size_name == "phone":
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{name} is {overflow}px wider than a phone"
    page.set_viewport_size(SIZES["desktop"])


def build_books():
    FxRate.objects.create(currency="EUR", valid_from=date(2024, 1, 1), rate=Decimal("1.08"))
    FxRate.objects.create(currency="GBP", valid_from=date(2024, 1, 1), rate=Decimal("1.25"))
    for n, (code, arr) in enumerate([("EUR", "1000000"), ("GBP", "250000"), ("USD", "87539250"), ("EUR", "1234.56")]):
        customer = Customer.objects.create(external_id=f"C{n}", name=f"Customer {code} {n}", region="EMEA")
        ContractLine.objects.create(external_id=f"L{n}", customer=customer, product="Core", start_date=date(2024, 1, 1),
                                    end_date=date(TODAY.year, TODAY.month, 1) if n == 3 else None,
                                    arr=Decimal(arr), currency=code)  # fmt: skip
    admin = User.objects.create_user("admin@example.com", PASSWORD, role=Role.ADMIN)
    recompute.recompute_all(TODAY)
    PendingRecompute.objects.all().delete()
    return admin


def test_admin_changes_a_rate_and_the_pages_read_like_money(page, live_server, transactional_db):
    admin = build_books()
    sign_in(page, live_server, admin.email)

    page.get_by_role("link", name="Exchange rates").click()
    expect(page.locator("h1")).to_have_text("Exchange rates")
    expect(page.get_by_test_id("reporting-currency")).to_have_text("USD")
    expect(page.get_by_test_id("rates").locator("tbody tr")).to_have_count(2)
    shoot(page, "fx-rates")
    form = page.get_by_test_id("rate-add")
    form.get_by_label("Currency").fill("eur")
    form.get_by_label("Valid from").fill(f"{TODAY.year}-{TODAY.month:02d}-01")
    form.get_by_label("Rate").fill("1.1")
    form.get_by_role("button", name="Add").click()
    expect(page.locator(".messages")).to_contain_text("EUR 1.1 from")
    expect(page.get_by_test_id("rates").locator("tbody tr")).to_have_count(3)
    assert set(PendingRecompute.objects.values_list("customer_id", flat=True)) == {None}  # a full recompute queued
    # A bad rate says where and why, and nothing is saved.
    form = page.get_by_test_id("rate-add")
    form.get_by_label("Currency").fill("XYZ")
    form.get_by_label("Valid from").fill("2024-02-01")
    form.get_by_label("Rate").fill("0")
    form.get_by_role("button", name="Add").click()
    expect(page.get_by_test_id("rate-form")).to_contain_text("not an ISO 4217 currency code")
    expect(page.get_by_test_id("rate-form")).to_contain_text("must be above zero")
    shoot(page, "fx-rate-error")
    recompute.process_pending(TODAY)

    page.goto(f"{live_server.url}/company/")
    headline = page.get_by_test_id("headline")
    expect(headline).to_contain_text("$")
    expect(headline.locator("a.fig[data-figure=arr_end], a.fig[data-figure=ending_arr]").first).to_have_text(re.compile(r"^\$\d+(\.\d)?M$"))
    axis = page.evaluate("() => { const c = Chart.getChart(document.getElementById('bridge-chart'));"
                         " return c.scales.y.ticks.map(t => t.label); }")
    assert axis and all(label.startswith("$") and label[-1] in "KM0123456789" for label in axis), axis
    shoot(page, "company-money")

    month = RetentionSnapshot.objects.filter(scope_type="company", granularity="month", partial=False).latest("period_start")
    page.goto(f"{live_server.url}/drilldown/?scope=company&granularity=month&period={month.period_start}&figure=starting_arr")
    expect(page.get_by_test_id("figure-value")).to_have_text(page.get_by_test_id("drill-total").inner_text())
    expect(page.get_by_test_id("drill-rows")).to_contain_text("of which €1,000,000 at 1.08")
    expect(page.get_by_test_id("drill-rows")).to_contain_text("of which £250,000 at 1.25")
    expect(page.get_by_test_id("drill-rows")).to_contain_text("$1,080,000")
    expect(page.get_by_test_id("currency-note")).to_contain_text("constant currency")
    shoot(page, "drilldown-currencies")
