import pytest
from django.db import connection


@pytest.mark.django_db
def test_runs_on_postgresql_with_seeded_reason_taxonomy():
    from metrics.models import ChurnReason

    assert connection.vendor == "postgresql"
    categories = set(ChurnReason.objects.values_list("category", flat=True))
    assert {
        "fit",
        "features",
        "support",
        "cost",
        "change_in_needs",
        "financial_struggle",
        "competitor",
        "champion_left",
        "other",
    } <= categories
