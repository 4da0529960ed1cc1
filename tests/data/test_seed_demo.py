"""manage.py seed_demo: five working logins with real books, snapshots, recorded reasons; rerunnable."""

import pytest
from django.core.management import call_command
from django.db.models import Q
from django.test import Client
from django.utils import timezone

from accounts.models import Team, TeamMembership, User
from metrics.models import Assignment, ChurnCase, ContractLine, Customer, RetentionSnapshot

PASSWORD = "retention-demo"


def current(queryset, day):
    return queryset.filter(Q(end_date__isnull=True) | Q(end_date__gte=day), start_date__lte=day)


def reasons_by_case():
    return set(
        ChurnCase.objects.filter(void=False).values_list(
            "customer__external_id", "date", "primary_reason__code", "secondary_reason_1__code", "notes"
        )
    )


@pytest.mark.django_db
def test_seed_demo_builds_logins_books_snapshots_and_reasons_and_rebuilds_the_same_on_a_rerun():
    call_command("seed_demo")
    first = (Customer.objects.count(), ContractLine.objects.count(), Assignment.objects.count(), User.objects.count())
    first_reasons = reasons_by_case()

    call_command("seed_demo")  # a rerun resets and rebuilds the demo's customers
    assert (
        Customer.objects.count(),
        ContractLine.objects.count(),
        Assignment.objects.count(),
        User.objects.count(),
    ) == first
    assert reasons_by_case() == first_reasons
    today = timezone.localdate()

    for email in ("admin@example.com", "exec@example.com", "lead@example.com", "csm@example.com", "am@example.com"):
        client = Client()
        response = client.post("/accounts/login/", {"username": email, "password": PASSWORD})
        assert response.status_code == 302, f"{email} cannot log in"
        assert client.session["_auth_user_id"] == str(User.objects.get(email=email).pk)

    admin = User.objects.get(email="admin@example.com")
    assert (admin.role, admin.is_staff, admin.is_superuser) == ("admin", True, True)
    executive = User.objects.get(email="exec@example.com")
    assert (executive.role, executive.is_staff, executive.is_superuser) == ("executive", False, False)

    lead = User.objects.get(email="lead@example.com")
    team = Team.objects.get(lead=lead)
    assert lead.role == "lead" and team.function == "customer_success"
    assert current(TeamMembership.objects.filter(user=lead, team=team), today).exists()

    csm = User.objects.get(email="csm@example.com")
    assert csm.role == "member"
    assert current(TeamMembership.objects.filter(user=csm, team=team), today).exists()
    assert current(Assignment.objects.filter(user=csm, role="csm"), today).count() >= 10

    am = User.objects.get(email="am@example.com")
    am_team = current(TeamMembership.objects.filter(user=am), today).get().team
    assert am.role == "member" and am_team.function == "account_management"
    assert current(Assignment.objects.filter(user=am, role="am"), today).count() >= 5

    assert Team.objects.filter(function="customer_success").count() == 3
    assert Team.objects.filter(function="account_management").count() == 2
    assert 25 <= User.objects.count() <= 35
    assert Customer.objects.count() == 800
    assert RetentionSnapshot.objects.filter(scope_type="owner", scope_key="csm@example.com", role="csm").exists()
    assert RetentionSnapshot.objects.filter(scope_type="team", scope_key=team.name, role="csm").exists()

    cases = ChurnCase.objects.filter(void=False)
    recorded = cases.filter(primary_reason__isnull=False)
    assert cases.count() > 100
    assert 0.7 <= recorded.count() / cases.count() <= 0.9
    assert not recorded.exclude(recorded_by=admin).exists()
    assert recorded.filter(secondary_reason_1__isnull=False).exists()
    assert recorded.exclude(notes="").exists()


@pytest.mark.django_db
def test_seed_demo_bills_emea_customers_in_euros_and_pounds_with_a_rate_history():
    from metrics.models import FxRate

    call_command("seed_demo")
    currencies = set(ContractLine.objects.values_list("currency", flat=True))
    assert currencies == {"USD", "EUR", "GBP"}
    assert set(ContractLine.objects.exclude(currency="USD").values_list("customer__region", flat=True)) == {"EMEA"}
    for code in ("EUR", "GBP"):
        rates = set(FxRate.objects.filter(currency=code).values_list("rate", flat=True))
        assert FxRate.objects.filter(currency=code).count() >= 12 and len(rates) > 1  # the rate moves
