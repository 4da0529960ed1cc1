"""The browser import's preview and apply run as Celery tasks on a real worker (Redis), the
request only starting them; the page's progress answers while they run."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import Role, User
from metrics.models import ContractLine
from operations.models import ImportRun, ImportStatus
from tests.test_import import BASE
from tests.web_support import PASSWORD

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module", autouse=True)
def leave_the_reason_taxonomy_behind(django_db_blocker):
    """Live-server and worker tests end with a flush that empties the seeded reason taxonomy:
    seed it again for the tests that come next (as tests/browser/test_pages_browser.py does)."""
    yield
    from metrics.models import ChurnReason
    from metrics.taxonomy import seed_reasons

    with django_db_blocker.unblock():
        seed_reasons(ChurnReason)


def wait_for(condition, seconds=60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_upload_preview_and_apply_on_the_worker(live_worker):
    client = Client()
    client.force_login(User.objects.create_user("admin@example.com", PASSWORD, role=Role.ADMIN))
    files = [SimpleUploadedFile(name, text.encode(), "text/csv") for name, text in BASE.items()]
    response = client.post(reverse("operations:imports"), {"files": files})
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("operations:import", args=[run.pk])
    assert wait_for(lambda: ImportRun.objects.get(pk=run.pk).status == ImportStatus.READY)
    progress = client.get(reverse("operations:import_progress", args=[run.pk])).json()
    assert progress == {"status": "ready", "running": False, "percent": 100, "step": ""}
    assert not ContractLine.objects.exists()

    client.post(reverse("operations:import_apply", args=[run.pk]))
    client.post(reverse("operations:import_apply", args=[run.pk]))  # a second click applies nothing more
    assert wait_for(lambda: ImportRun.objects.get(pk=run.pk).status == ImportStatus.APPLIED)
    run.refresh_from_db()
    assert set(run.result["counts"]) == {"teams.csv", "users.csv", "team_memberships.csv", "customers.csv",
                                         "contracts.csv", "assignments.csv", "fx_rates.csv"}  # fmt: skip
    assert ContractLine.objects.count() == 3
    assert run.applied_by.email == "admin@example.com"
