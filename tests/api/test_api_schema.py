"""Discovery: the OpenAPI 3 schema validates and lists every endpoint, the docs page is served from
our own static files, and a schema-driven fuzz run (schemathesis) never gets a 500."""

from __future__ import annotations

import os
import re

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient
from schemathesis import GenerationMode

from api.models import ApiToken
from retention_site.wsgi import application

ENDPOINTS = [
    "retention",
    "movements",
    "customers",
    "contract-lines",
    "assignments",
    "teams",
    "users",
    "churn-cases",
    "reasons",
    "pareto",
]


EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))  # per operation and mode: bounded, so the suite stays fast
# CI replays a fixed sequence so a merge is judged on the code; local runs explore new inputs
# (FUZZ_EXAMPLES=60 for a longer hunt).
DERANDOMIZE = bool(os.environ.get("CI"))


def test_schema_and_docs_are_for_signed_in_users_only(world):
    assert APIClient().get("/api/v1/schema/", {"format": "json"}).status_code == 401
    for page in ("/api/v1/docs/", "/api/v1/redoc/"):
        response = Client().get(page)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), page
    member = APIClient()
    member.force_authenticate(world["member"])
    assert member.get("/api/v1/schema/", {"format": "json"}).status_code == 200


def test_the_schema_is_valid_openapi_3_and_lists_every_endpoint(world):
    client = APIClient()
    client.force_authenticate(world["executive"])
    response = client.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)  # raises on anything that is not valid OpenAPI 3
    assert schema["openapi"].startswith("3.")
    assert {f"/api/v1/{name}/" for name in ENDPOINTS} <= set(schema["paths"])
    retention = schema["paths"]["/api/v1/retention/"]["get"]
    assert {"granularity", "scope_type", "scope_key", "role", "from", "to", "format", "page"} <= {
        p["name"] for p in retention["parameters"]
    }
    assert set(schema["components"]["securitySchemes"]) == {"tokenAuth", "cookieAuth"}
    row = schema["components"]["schemas"]["RetentionRow"]
    assert list(row["properties"])[:3] == ["period_start", "period_end", "granularity"]
    assert row["properties"]["nrr"]["nullable"] is True


def test_the_docs_page_uses_only_our_static_files(settings, world):
    settings.WHITENOISE_USE_FINDERS = True  # serve the app folders' static files without collectstatic
    signed_in = Client()
    signed_in.force_login(world["member"])
    page = signed_in.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("swagger-ui-bundle.js" in a for a in assets) and any("swagger-ui.css" in a for a in assets)
    assert all(a.startswith("/static/") for a in assets), assets  # no CDN
    assert "/api/v1/schema/" in html
    for asset in assets:
        assert Client().get(asset).status_code == 200, asset  # served by the site itself (whitenoise)
    assert signed_in.get("/api/v1/redoc/").status_code == 200


@pytest.fixture
def wsgi_app_in_test_transaction(settings):
    """The WSGI app with no rate limit in the way, keeping the test's transaction open across its
    requests (as Django's test client does)."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "100000/minute", "user": "100000/minute"},
    }
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield application
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_no_endpoint_answers_500_to_generated_requests(world, wsgi_app_in_test_transaction):
    """Valid and invalid requests generated from the schema, for every operation, as an admin.

    (schemathesis' pytest plugin does not run on pytest 9 yet, so its Python API drives hypothesis.)
    """
    headers = {"Authorization": f"Token {ApiToken.issue(world['admin'], 'fuzz')[1]}"}
    api = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", wsgi_app_in_test_transaction, headers=headers)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 25
    failures, calls = [], []

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis_settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=DERANDOMIZE,
                suppress_health_check=list(HealthCheck),
            )
            def call(case):
                response = case.call(headers=headers)
                calls.append(response.status_code)
                if response.status_code >= 500:
                    failures.append(
                        f"{case.method} {case.formatted_path} {case.query} {case.body!r} -> {response.status_code}"
                    )

            call()
    assert not failures, "\n".join(failures[:20])
    assert len(calls) > 10 * len(operations) and {200, 400, 404} <= set(calls)
