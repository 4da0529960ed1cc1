"""Credentials and abuse: personal tokens from their page to revocation, the session, rate limits."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from api.models import ApiToken
from tests.api_support import token_client

KEY = re.compile(r"rs_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_token_lifecycle_from_the_page(world):
    page = signed_in(world["member"])
    created = page.post("/api/tokens/", {"name": "BI nightly export"})
    assert created.status_code == 200 and created["Cache-Control"] == "no-store"
    keys = KEY.findall(created.content.decode())
    assert len(keys) == 1, "the new key is shown once on the page"
    key = keys[0]

    token = ApiToken.objects.get(user=world["member"], name="BI nightly export")
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(ApiToken.objects.filter(pk=token.pk).values().get()), "only the hash is stored"
    listing = page.get("/api/tokens/").content.decode()
    assert "BI nightly export" in listing and key not in listing, "the key is never shown again"

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    mine = api.get("/api/v1/customers/")
    assert mine.status_code == 200 and [r["external_id"] for r in mine.json()["results"]] == ["C1"]
    token.refresh_from_db()
    assert token.last_used_at is not None

    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert bearer.get("/api/v1/customers/").status_code == 200

    # Another user cannot revoke it; its owner can, and it stops working on the next request.
    assert signed_in(world["bob"]).post(f"/api/tokens/{token.pk}/revoke/").status_code == 404
    assert api.get("/api/v1/customers/").status_code == 200
    revoked = page.post(f"/api/tokens/{token.pk}/revoke/", follow=True)
    assert "revoked" in revoked.content.decode()
    after = api.get("/api/v1/customers/")
    assert after.status_code == 401 and after.json()["detail"] == "Invalid or revoked token."
    assert after["WWW-Authenticate"].startswith("Token")


@pytest.mark.django_db
def test_token_page_needs_sign_in_and_a_name(world):
    assert Client().get("/api/tokens/").status_code == 302
    assert Client().post("/api/tokens/", {"name": "x"}).status_code == 302
    assert not ApiToken.objects.exists()
    page = signed_in(world["member"])
    empty = page.post("/api/tokens/", {"name": ""})
    assert empty.status_code == 400 and "This field is required." in empty.content.decode()
    assert not ApiToken.objects.exists()
    assert page.get("/api/tokens/1/revoke/").status_code == 405  # revoking is a POST


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Token",
        "Token rs_000000000000_wrong",
        "Token not-even-shaped",
        "Token a b",
        "Bearer \u00e9t\u00e9",
        "Basic YWRtaW5AZXhhbXBsZS5jb206YS1sb25nLXRlc3QtcGFzc3dvcmQ=",  # no basic auth, even with a right password
    ],
)
def test_missing_or_bad_credentials_answer_401(world, header):
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header.encode("utf-8").decode("latin-1"))
    response = client.get("/api/v1/retention/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Token realm="api"'


@pytest.mark.django_db
def test_a_token_with_a_right_prefix_and_wrong_secret_fails(world):
    _token, key = ApiToken.issue(world["admin"], "t")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key[:-3]}abc")
    assert client.get("/api/v1/retention/").status_code == 401


@pytest.mark.django_db
def test_a_deactivated_users_token_stops_working(world):
    client = token_client(world["member"])
    assert client.get("/api/v1/customers/").status_code == 200
    world["member"].is_active = False
    world["member"].save()
    assert client.get("/api/v1/customers/").status_code == 401


@pytest.mark.django_db
def test_the_browser_session_authenticates_and_writes_need_csrf(world):
    session = Client(enforce_csrf_checks=True)
    session.force_login(world["admin"])
    assert session.get("/api/v1/customers/").status_code == 200
    refused = session.post("/api/v1/customers/", {"external_id": "CX", "name": "X"}, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    page = session.get("/api/tokens/")
    csrf = page.cookies["csrftoken"].value
    created = session.post(
        "/api/v1/customers/", {"external_id": "CX", "name": "X"}, content_type="application/json", HTTP_X_CSRFTOKEN=csrf
    )
    assert created.status_code == 201


@pytest.mark.django_db
def test_signed_in_users_are_throttled_per_user(world, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "100/minute", "user": "3/minute"},
    }
    member, admin = token_client(world["member"]), token_client(world["admin"])
    assert [member.get("/api/v1/reasons/").status_code for _ in range(4)] == [200, 200, 200, 429]
    throttled = member.get("/api/v1/customers/")
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    assert admin.get("/api/v1/reasons/").status_code == 200, "one user's limit does not touch another's"


@pytest.mark.django_db
def test_anonymous_callers_and_token_guessers_are_throttled(world, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "3/minute", "user": "100/minute"},
    }
    guesser = APIClient()
    guesser.credentials(HTTP_AUTHORIZATION="Token rs_000000000000_guess")
    assert [guesser.get("/api/v1/retention/").status_code for _ in range(3)] == [401, 401, 401]
    assert guesser.get("/api/v1/retention/").status_code == 429
    assert APIClient().get("/api/v1/retention/").status_code == 429, "the same address, now without a header"
    assert token_client(world["member"]).get("/api/v1/retention/").status_code == 200
