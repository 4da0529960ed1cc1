"""The page-test company (web_support.build_company) with lines coming up for renewal around TODAY.

On TODAY (2026-11-23), with the default 30 grace days, the lines with an end date are:

| end        | customer | product | ARR    | CSM (team)     | AM  | status                                 |
| 2026-09-30 | Gamma    | Core    | 10,000 | Cid (CS East)  |     | renewed (L5 starts 10-01)              |
| 2026-09-30 | Delta    | Core    |  8,000 | Bob (CS West)  | Amy | renewed (L7 starts 10-01)              |
| 2026-10-14 | Beta     | Core    | 24,000 | Ann (CS East)  |     | lapsed (window ended 11-13)            |
| 2026-11-10 | Delta    | Add-on  |  1,500 | Bob (CS West)  | Amy | open (window ends 12-10)               |
| 2026-12-15 | Acme     | Support |  2,000 | Ann (CS East)  | Amy | open                                   |
"""

from datetime import date
from decimal import Decimal

import pytest

from metrics.models import ContractLine
from metrics.recompute import triggers
from tests.web_support import TODAY, build_company

SEP_1, DEC_31 = date(2026, 9, 1), date(2026, 12, 31)


@pytest.fixture
def on_today(monkeypatch):
    monkeypatch.setattr(triggers, "today", lambda: TODAY)
    return TODAY


def build_outlook_company(compute: bool = True) -> dict:
    world = build_company(compute=False)
    line = ContractLine.objects.create
    line(
        external_id="L10",
        customer=world["delta"],
        product="Add-on",
        start_date=date(2026, 2, 11),
        end_date=date(2026, 11, 10),
        arr=Decimal("1500"),
    )
    line(
        external_id="L11",
        customer=world["acme"],
        product="Support",
        start_date=date(2025, 12, 16),
        end_date=date(2026, 12, 15),
        arr=Decimal("2000"),
    )
    if compute:
        from metrics import recompute
        from metrics.models import PendingRecompute

        PendingRecompute.objects.all().delete()
        recompute.recompute_all(TODAY)
    return world
