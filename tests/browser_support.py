"""Helpers the browser tests share: signing in through the form and screenshots at both widths."""

from pathlib import Path

from tests.web_support import PASSWORD

SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def seed_reason_taxonomy():
    """The reason taxonomy comes from a data migration, and every live-server test ends with a flush
    that empties it: seed it again (the migration's own, idempotent step) for whoever comes next."""
    from metrics.models import ChurnReason
    from metrics.taxonomy import seed_reasons

    seed_reasons(ChurnReason)


def sign_in(page, live_server, email, password=PASSWORD):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("form.stacked button[type=submit]")
    page.wait_for_load_state("load")


def shoot(page, name, directory=SCREENSHOTS):
    """Screenshots at both widths; at phone width nothing may stick out sideways."""
    directory.mkdir(parents=True, exist_ok=True)
    for size_name, size in SIZES.items():
        page.set_viewport_size(size)
        page.wait_for_timeout(150)  # let Chart.js redraw at the new size
        page.screenshot(path=str(directory / f"{name}-{size_name}.png"), full_page=True)
        if size_name == "phone":
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{name} is {overflow}px wider than a phone"
    page.set_viewport_size(SIZES["desktop"])
