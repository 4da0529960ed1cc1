"""The embedded default (no Redis, no workers): a change answers at once and its recompute runs
after the response in the web process's background thread; pages say "updating" meanwhile, and
the first page view of a new day starts that day's figures the same way."""

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from metrics.models import ContractLine, PendingRecompute, RecomputeStatus, RetentionSnapshot
from metrics.recompute import triggers
from tests.api_support import token_client
from tests.web_support import build_company

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def embedded(settings, monkeypatch):
    """Tasks in-process, and a recompute that waits at a gate until the test opens it."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    gate, started = threading.Event(), threading.Event()
    real = triggers.process_pending

    def gated(*args, **kwargs):
        started.set()
        assert gate.wait(30), "the test never opened the gate"
        return real(*args, **kwargs)

    monkeypatch.setattr(triggers, "process_pending", gated)
    yield gate, started
    gate.set()
    triggers.BACKGROUND.wait(60)


def company_month(start):
    return RetentionSnapshot.objects.get(granularity="month", period_start=start, scope_type="company")


def test_a_change_answers_before_its_recompute_and_the_page_says_updating(embedded, client):
    gate, started = embedded
    world = build_company(compute=False)
    gate.set()
    triggers.BACKGROUND.wait(60)  # the build's own changes, recomputed in the background
    assert not PendingRecompute.objects.exists()
    gate.clear()
    started.clear()

    line = ContractLine.objects.get(external_id="L9")
    response = token_client(world["admin"]).patch(
        f"/api/v1/contract-lines/{line.pk}/", {"arr": "6600.00"}, format="json"
    )
    assert response.status_code == 200
    assert started.wait(10)  # the recompute started after the response...
    assert PendingRecompute.objects.exists()  # ...and has not landed: the request did not wait for it
    client.force_login(world["executive"])
    assert "Updating: recent changes are not in these figures yet" in client.get("/company/").content.decode()
    gate.set()
    triggers.BACKGROUND.wait(60)
    assert not PendingRecompute.objects.exists()
    # On Oct 31: Acme 15,000, Gamma 7,000, Delta 11,000, Epsilon 5,000 and Zeta now 6,600.
    assert company_month(date(2026, 11, 1)).starting_arr == Decimal("44600.00")


def test_the_first_page_view_of_a_new_day_starts_its_figures_in_the_background(embedded, client):
    gate, started = embedded
    world = build_company()  # computed on a day gone by (web_support.TODAY)
    yesterday = timezone.localdate() - timedelta(days=1)
    RecomputeStatus.objects.filter(pk=1).update(as_of=yesterday)
    client.force_login(world["executive"])
    page = client.get("/company/")
    assert page.status_code == 200 and "Updating: today is not in these figures yet" in page.content.decode()
    assert started.wait(10)
    gate.set()
    triggers.BACKGROUND.wait(60)
    assert RecomputeStatus.get().as_of == timezone.localdate()
