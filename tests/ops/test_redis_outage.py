"""Redis down (a Redis of the test's own, never the shared one): the site keeps serving, every
change is saved with its pending recompute, and the recompute lands once Redis is back."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings
from django.urls import reverse

from metrics.models import ContractLine, Customer, PendingRecompute, RetentionSnapshot
from retention_site.celery import app
from tests.api_support import token_client
from tests.recompute_support import wait_for
from tests.web_support import build_company

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


class OwnRedis:
    """A redis-server on a free port of its own, which the test stops and starts again."""

    def __init__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        assert wait_for(lambda: _pings(client), 10), "own redis did not start"

    def stop(self):
        self.process.terminate()
        self.process.wait(10)


def _pings(client) -> bool:
    try:
        return client.ping()
    except redis.exceptions.ConnectionError:
        return False


def use_broker(url: str, backend: str | None = None) -> None:
    """Point the broker and the result backend of this process at ``url``."""
    app.conf.update(broker_url=url, result_backend=backend or url)
    app._after_fork()  # drop pooled broker connections
    app._backend_cache = None  # and the result backend's client
    app._local.__dict__.pop("backend", None)


@pytest.fixture
def own_redis(settings):
    server = OwnRedis()
    server.start()
    saved = (app.conf.broker_url, app.conf.result_backend)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": server.url}}
    use_broker(server.url)
    yield server
    if server.process.poll() is None:
        server.stop()
    use_broker(*saved)


def test_with_redis_down_the_site_serves_and_saves_and_catches_up_when_it_returns(own_redis, client):
    world = build_company()
    admin = world["admin"]
    admin.is_staff = admin.is_superuser = True  # Django's admin too
    admin.save()
    api = token_client(admin)
    assert api.get("/api/v1/customers/").status_code == 200
    own_redis.stop()

    # Reads: throttling (its counters live in Redis) fails open.
    assert api.get("/api/v1/retention/?granularity=month").status_code == 200
    # An API edit answers success and is saved, with its pending recompute.
    response = api.patch(f"/api/v1/customers/{world['acme'].pk}/", {"region": "APAC"}, format="json")
    assert response.status_code == 200, response.content
    assert Customer.objects.get(pk=world["acme"].pk).region == "APAC"
    assert PendingRecompute.objects.filter(customer_id=world["acme"].pk).exists()
    # An edit in the admin the same.
    client.force_login(admin)
    line = ContractLine.objects.get(external_id="L9")
    form = {
        "external_id": "L9",
        "customer": line.customer_id,
        "product": "Core",
        "start_date": "2025-01-01",
        "end_date": "",
        "arr": "6500.00",
        "currency": "USD",
    }
    response = client.post(reverse("admin:metrics_contractline_change", args=[line.pk]), form)
    assert response.status_code == 302, response.content[:500]
    assert ContractLine.objects.get(pk=line.pk).arr == Decimal("6500.00")
    # The pages still answer.
    assert client.get(reverse("company")).status_code == 200

    # import_data saves, says so, and exits 0.
    folder = Path(os.environ.get("PYTEST_TMP", "/tmp")) / f"outage-{own_redis.port}"
    folder.mkdir(exist_ok=True)
    (folder / "customers.csv").write_text("external_id,name\nR1,Redis Down Co\n")
    env = {**os.environ, "REDIS_URL": own_redis.url, "DATABASE_URL": _test_database_url()}
    done = subprocess.run(
        [sys.executable, "manage.py", "import_data", str(folder)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "recompute of the retention figures is queued" in done.stdout
    assert "Traceback" not in done.stderr
    assert Customer.objects.filter(external_id="R1").exists()

    # Redis is back: the next sweep (what beat sends every minute) carries every change out.
    own_redis.start()
    import celery.contrib.testing.tasks  # noqa: F401  (the ping task the worker check needs)
    from celery.contrib.testing.worker import start_worker

    from metrics.tasks import process_pending_task as process_pending

    with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=30):
        process_pending.delay()
        assert wait_for(lambda: not PendingRecompute.objects.exists(), 60)
    zeta = RetentionSnapshot.objects.get(granularity="month", period_start=date(2026, 11, 1), scope_type="company")
    assert zeta.computed_at is not None
    region = RetentionSnapshot.objects.filter(
        scope_type="region", scope_key="APAC", granularity="month", period_start=date(2026, 10, 1)
    ).get()
    assert region.starting_arr == Decimal("18500.00")  # Zeta (6,500 since the admin edit) and Acme 12,000, now APAC


def _test_database_url() -> str:
    db = django_settings.DATABASES["default"]
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
