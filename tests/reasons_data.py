"""A small company of churn cases for the reason pages' tests, built directly through the ORM.

Two customer success teams, East (led by lead-east) and West (led by lead-west):

| case | customer | team | date | kind | lost ARR | primary reason |
| --- | --- | --- | --- | --- | --- | --- |
| acme | Acme (Enterprise) | East | 2026-03-01 | churn | 5,000.00 | none |
| bolt | Bolt (SMB) | East | 2026-05-10 | contraction | 1,500.00 | none |
| crux | Crux (no segment) | East | 2026-06-01 | churn | 2,500.00 | Cost |
| dyn | Dyn (SMB) | West | 2026-04-01 | churn | 4,000.00 | none |
| acme_void | Acme | East | 2026-07-01 | churn | 999.00 | none, void |

Company: 13,000.00 lost (void excluded), 2,500.00 with a reason. East: 9,000.00, 2,500.00.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from accounts.models import Role, Team, TeamMembership, User
from metrics.models import Assignment, ChurnCase, ChurnReason, Customer


@dataclass
class ReasonWorld:
    users: dict
    teams: dict
    cases: dict

    def reason(self, code):
        return ChurnReason.objects.get(code=code)


def make_user(email, role, full_name=""):
    # No password: tests log in with force_login, and hashing one per user is slow.
    return User.objects.create_user(email, role=role, full_name=full_name)


def build_world() -> ReasonWorld:
    users = {
        "admin": make_user("admin@ex.test", Role.ADMIN, full_name="Ada Admin"),
        "exec": make_user("exec@ex.test", Role.EXECUTIVE),
        "lead_east": make_user("lead-east@ex.test", Role.LEAD, full_name="Lena East"),
        "lead_west": make_user("lead-west@ex.test", Role.LEAD, full_name="Walt West"),
        "csm_east": make_user("csm-east@ex.test", Role.MEMBER, full_name="Cora East"),
        "csm_west": make_user("csm-west@ex.test", Role.MEMBER, full_name="Wes West"),
    }
    teams = {
        "east": Team.objects.create(name="CS East", function="customer_success", lead=users["lead_east"]),
        "west": Team.objects.create(name="CS West", function="customer_success", lead=users["lead_west"]),
    }
    for who, team in (("lead_east", "east"), ("csm_east", "east"), ("lead_west", "west"), ("csm_west", "west")):
        TeamMembership.objects.create(user=users[who], team=teams[team], start_date=date(2025, 1, 1))

    def customer(external_id, name, segment, owner):
        c = Customer.objects.create(external_id=external_id, name=name, segment=segment)
        Assignment.objects.create(customer=c, user=users[owner], role="csm", start_date=date(2025, 1, 1))
        return c

    acme = customer("C-ACME", "Acme", "Enterprise", "csm_east")
    bolt = customer("C-BOLT", "Bolt", "SMB", "csm_east")
    crux = customer("C-CRUX", "Crux", "", "csm_east")
    dyn = customer("C-DYN", "Dyn", "SMB", "csm_west")

    def case(customer_, day, kind, previous, new, team, **extra):
        owner = "csm_east" if team == "east" else "csm_west"
        return ChurnCase.objects.create(
            customer=customer_,
            date=day,
            kind=kind,
            previous_arr=Decimal(previous),
            new_arr=Decimal(new),
            lost_arr=Decimal(previous) - Decimal(new),
            csm_owner=users[owner],
            csm_team=teams[team],
            **extra,
        )

    cases = {
        "acme": case(acme, date(2026, 3, 1), "churn", "5000.00", "0", "east"),
        "bolt": case(bolt, date(2026, 5, 10), "contraction", "4000.00", "2500.00", "east"),
        "crux": case(
            crux, date(2026, 6, 1), "churn", "2500.00", "0", "east", primary_reason=ChurnReason.objects.get(code="cost")
        ),
        "dyn": case(dyn, date(2026, 4, 1), "churn", "4000.00", "0", "west"),
        "acme_void": case(acme, date(2026, 7, 1), "churn", "999.00", "0", "east", void=True),
    }
    return ReasonWorld(users, teams, cases)
