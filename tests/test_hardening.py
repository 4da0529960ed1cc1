"""Attack probes of the hardening issue, each once a real finding: lockout tricks, hostile input."""

import pytest
from django.test import override_settings
from django.urls import reverse

from web_support import PASSWORD, build_company, fast_password_hashing  # noqa: F401 (an autouse fixture)


@pytest.fixture
def company(db):
    return build_company()


def sign_in(client, email, password, address="10.0.0.1"):
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=address)


# --- lockout --------------------------------------------------------------------------------


def test_letter_case_and_spaces_do_not_give_fresh_guesses(client, company):
    variants = ["ann@example.com", "ANN@example.com", "Ann@Example.com", " ann@EXAMPLE.com ", "aNn@example.COM"]
    for email in variants[:-1]:
        assert sign_in(client, email, "wrong").status_code == 200  # the form again, with its error
    assert sign_in(client, variants[-1], "wrong").status_code == 429  # the fifth failure locks
    # Five failures over five spellings lock the one account: the right password with yet other
    # capitals is refused too.
    assert sign_in(client, "ANN@EXAMPLE.COM", PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session


@override_settings(AXES_FAILURE_LIMIT=5, AXES_EMAIL_FAILURE_LIMIT=8)
def test_many_addresses_do_not_give_unlimited_guesses(client, company):
    for attempt in range(8):
        # Four addresses, two guesses each: no address reaches its own limit of five.
        sign_in(client, "Ann@example.com", "wrong", address=f"10.0.1.{attempt % 4}")
    assert sign_in(client, "ann@example.com", PASSWORD, address="10.0.2.9").status_code == 429
    # Another person is not locked out by it.
    assert sign_in(client, "bob@example.com", PASSWORD, address="10.0.2.9").status_code == 302


def test_a_few_failures_below_the_limits_still_let_the_owner_in(client, company):
    for address in ("10.0.3.1", "10.0.3.2"):
        sign_in(client, "ann@example.com", "wrong", address=address)
    assert sign_in(client, "ANN@example.com", PASSWORD, address="10.0.3.1").status_code == 302
