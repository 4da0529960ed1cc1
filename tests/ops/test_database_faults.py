"""Database faults: every wait has a timeout, a busy or missing database gets a clear 503 (JSON
for the API, the site's own page otherwise), a dropped connection is retried, and operators see
a failing or lagging recompute on every page and at /healthz."""

import threading
import time
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.db import close_old_connections, connection, connections
from django.test import Client
from django.utils import timezone

from metrics.models import ContractLine, PendingRecompute, RecomputeStatus, RetentionSnapshot
from retention_site import database
from tests.api_support import token_client
from tests.web_support import TODAY, build_company

pytestmark = pytest.mark.django_db(transaction=True)


def other_connection():
    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"],
        dbname=connection.settings_dict["NAME"],
        autocommit=True,
    )


@pytest.fixture
def web_process(monkeypatch):
    """This process as wsgi.py makes it: short waits on its (new) connections."""
    monkeypatch.setattr(database, "SERVES_WEB", True)
    connection.close()
    yield
    connection.close()


def test_a_locked_table_answers_being_updated_in_seconds_and_other_pages_still_work(web_process):
    world = build_company()
    connection.close()
    browser = Client()
    browser.force_login(world["executive"])
    api = token_client(world["executive"])
    locker = other_connection()
    locker.execute("BEGIN")
    locker.execute("LOCK TABLE metrics_retentionsnapshot IN ACCESS EXCLUSIVE MODE")
    try:
        started = time.monotonic()
        page = browser.get("/company/")
        assert page.status_code == 503 and b"Figures are being updated" in page.content
        assert time.monotonic() - started < settings.WEB_LOCK_TIMEOUT_MS / 1000 + 3
        response = api.get("/api/v1/retention/")
        assert response.status_code == 503 and response.json() == {
            "detail": "The figures are being updated; try again in a moment."
        }
        assert response["Retry-After"] == "5"
        assert Client().get("/accounts/login/").status_code == 200  # the sign-in page does not wait
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert browser.get("/company/").status_code == 200


def test_with_the_database_gone_the_api_answers_json_and_pages_the_sites_own_page(web_process):
    world = build_company()
    browser = Client(raise_request_exception=False)
    browser.force_login(world["executive"])
    api = token_client(world["executive"])
    api.raise_request_exception = False
    saved = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"  # nothing listens there: as if PostgreSQL had stopped
    try:
        response = api.get("/api/v1/retention/")
        assert response.status_code == 503, response.content[:300]
        assert response.json() == {"detail": "The database is temporarily unavailable; try again in a moment."}
        page = browser.get("/company/")
        assert page.status_code == 503 and b"Temporarily unavailable" in page.content
        health = Client().get("/healthz")
        assert health.status_code == 503 and health.json()["database"].startswith("unavailable")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = saved
    assert browser.get("/company/").status_code == 200


def test_the_first_request_after_the_connection_dropped_reconnects(web_process):
    world = build_company()
    browser = Client()
    browser.force_login(world["executive"])
    assert browser.get("/company/").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    killer = other_connection()
    killer.execute("SELECT pg_terminate_backend(%s)", [pid])
    killer.close()
    time.sleep(0.2)
    close_old_connections()  # what Django's handler does at the start of every request (the test client does not)
    assert browser.get("/company/?granularity=quarter").status_code == 200  # a health check, then a new connection


def test_healthz_reports_and_admins_see_a_failing_or_lagging_recompute():
    world = build_company()
    response = Client().get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert set(response.json()) >= {"database", "redis", "recompute"}
    assert "arr" not in response.content.decode().lower()  # no business data

    RecomputeStatus.objects.filter(pk=1).update(
        last_error="OperationalError: server closed the connection", last_error_at=timezone.now()
    )
    report = Client().get("/healthz")
    assert report.status_code == 503 and report.json()["recompute"]["failing"]
    admin, executive = Client(), Client()
    admin.force_login(world["admin"])
    executive.force_login(world["executive"])
    page = admin.get("/company/").content.decode()
    assert 'data-testid="recompute-failed"' in page and "server closed the connection" in page
    assert 'data-testid="recompute-failed"' not in executive.get("/company/").content.decode()

    RecomputeStatus.objects.filter(pk=1).update(last_error="", last_error_at=None)
    PendingRecompute.objects.create(customer_id=world["acme"].pk)
    PendingRecompute.objects.update(requested_at=timezone.now() - timedelta(hours=1))
    report = Client().get("/healthz").json()
    assert report["recompute"]["behind"] and report["recompute"]["lag_seconds"] >= 3600
    assert 'data-testid="recompute-behind"' in admin.get(f"/owners/{world['ann'].pk}/").content.decode()


def test_a_page_cached_while_a_change_waited_shows_the_behind_notice_once_the_wait_is_too_long():
    """The page cache keys a page by the figures' generation and whether a change is pending: a
    page an admin saw while a change had just arrived must not hide the lag notice later."""
    world = build_company()
    admin = Client()
    admin.force_login(world["admin"])
    PendingRecompute.objects.create(customer_id=world["acme"].pk)
    assert 'data-testid="recompute-behind"' not in admin.get("/company/").content.decode()
    PendingRecompute.objects.update(requested_at=timezone.now() - timedelta(hours=1))
    assert 'data-testid="recompute-behind"' in admin.get("/company/").content.decode()


@pytest.mark.worker
def test_a_connection_dropped_in_the_middle_of_a_full_recompute_ends_in_a_retry_and_the_worker_serves_on(
    live_worker, monkeypatch
):
    """The worker's connection is terminated while a shard computes: the task fails, is retried
    on a new connection, the run completes, and the worker takes the next change as usual."""
    from metrics.recompute import engine
    from metrics.tasks import recompute_all
    from tests.recompute_support import wait_for

    build_company()
    computing, go = threading.Event(), threading.Event()
    real = engine.block_totals

    def held_once(*args, **kwargs):
        if not computing.is_set():
            computing.set()
            assert go.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "block_totals", held_once)
    version = RecomputeStatus.get().input_version
    recompute_all.delay()
    assert computing.wait(30), "the shard never started"
    killer = other_connection()
    killer.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    killer.close()
    go.set()
    connections.close_all()  # this thread's connection went too
    assert wait_for(
        lambda: RecomputeStatus.get().input_version > version and RecomputeStatus.get().running_version is None, 90
    )
    assert RecomputeStatus.get().last_error_at is not None  # the failure was seen, then retried past

    line = ContractLine.objects.get(external_id="L9")
    line.arr += 100
    line.save()
    assert wait_for(lambda: not PendingRecompute.objects.exists(), 60)  # the worker still serves
    zeta = RetentionSnapshot.objects.get(
        granularity="month", period_start=TODAY.replace(day=1), scope_type="region", scope_key="APAC"
    )
    assert zeta.starting_arr == line.arr
