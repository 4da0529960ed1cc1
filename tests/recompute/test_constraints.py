"""The database itself refuses what the domain forbids, whatever path the write takes."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from accounts.models import Team, TeamMembership, User
from metrics.models import Assignment, ContractLine, Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme():
    return Customer.objects.create(external_id="C1", name="Acme")


def refused(create):
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_external_ids_are_unique(acme):
    refused(lambda: Customer.objects.create(external_id="C1", name="Acme again"))
    ContractLine.objects.create(
        external_id="L1", customer=acme, product="Core", start_date=date(2025, 1, 1), arr=Decimal("1")
    )
    refused(
        lambda: ContractLine.objects.create(
            external_id="L1", customer=acme, product="Core", start_date=date(2025, 1, 1), arr=Decimal("1")
        )
    )


def test_arr_is_never_negative_and_lines_never_end_before_they_start(acme):
    refused(
        lambda: ContractLine.objects.create(
            external_id="L2", customer=acme, product="Core", start_date=date(2025, 1, 1), arr=Decimal("-0.01")
        )
    )
    refused(
        lambda: ContractLine.objects.create(
            external_id="L3",
            customer=acme,
            product="Core",
            start_date=date(2025, 2, 1),
            end_date=date(2025, 1, 31),
            arr=Decimal("1"),
        )
    )


def test_assignments_of_one_customer_and_role_never_overlap(acme):
    ann = User.objects.create_user("ann@example.com")
    bob = User.objects.create_user("bob@example.com")
    Assignment.objects.create(
        customer=acme, user=ann, role="csm", start_date=date(2025, 1, 1), end_date=date(2025, 6, 30)
    )
    refused(
        lambda: Assignment.objects.create(customer=acme, user=bob, role="csm", start_date=date(2025, 6, 30))
    )  # one shared day
    Assignment.objects.create(customer=acme, user=bob, role="csm", start_date=date(2025, 7, 1))  # the next day is fine
    Assignment.objects.create(customer=acme, user=ann, role="am", start_date=date(2025, 3, 1))  # another role is fine
    refused(
        lambda: Assignment.objects.create(customer=acme, user=ann, role="csm", start_date=date(2026, 1, 1))
    )  # open-ended one covers it


def test_a_user_is_in_one_team_on_any_day():
    ann = User.objects.create_user("ann@example.com")
    east = Team.objects.create(name="East", function="customer_success")
    west = Team.objects.create(name="West", function="customer_success")
    TeamMembership.objects.create(user=ann, team=east, start_date=date(2025, 1, 1), end_date=date(2025, 12, 31))
    refused(lambda: TeamMembership.objects.create(user=ann, team=west, start_date=date(2025, 12, 1)))
    TeamMembership.objects.create(user=ann, team=west, start_date=date(2026, 1, 1))
