"""The demo company behind ``manage.py seed_demo``: synthetic data, five logins, recorded reasons.

A second run resets and rebuilds: the demo's customers (and with them their lines, assignments,
churn cases and movements) are deleted and generated again for today, users and teams are
updated in place, reasons are recorded again. Reasons are chosen from each case's own key
(customer and day), so the same data always gets the same reasons.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from accounts.models import Role, User

from .models import ChurnCase, ChurnReason, Customer
from .synthetic import NamedUser, generate
from .taxonomy import seed_reasons

PASSWORD = "retention-demo"
CUSTOMERS, YEARS, TEAMS, TEAM_PEOPLE, SEED = 800, 4, 5, 28, 2026
# Teams come out as CS Aurora, CS Borealis, CS Cascade (customer success), AM Summit, AM Meridian.
LOGINS = (
    NamedUser("admin@example.com", "Ada Admin", role=Role.ADMIN),
    NamedUser("exec@example.com", "Evan Executive", role=Role.EXECUTIVE),
    NamedUser("lead@example.com", "Lena Lead", team=0, lead=True),
    NamedUser("csm@example.com", "Casey Csm", team=0),
    NamedUser("am@example.com", "Alex Am", team=3),
)
# Share of cases that get reasons, by kind: exit calls follow churn more often than downgrades
# (about 80% of all cases). The rest show as "no reason recorded".
RECORDED_SHARE = {"churn": 0.9, "contraction": 0.7}

# Primary reason weights by case kind: a few reasons explain most of the loss (a clear Pareto head).
PRIMARY_WEIGHTS = {
    "churn": {
        "competitor": 30,
        "cost": 24,
        "change_in_needs": 12,
        "champion_left": 10,
        "financial_struggle": 8,
        "features": 7,
        "fit": 4,
        "support": 3,
        "other": 2,
    },
    "contraction": {
        "cost": 40,
        "change_in_needs": 25,
        "financial_struggle": 12,
        "features": 8,
        "competitor": 6,
        "champion_left": 4,
        "support": 3,
        "fit": 1,
        "other": 1,
    },
}
NOTES = {
    "competitor": [
        "Moved to a cheaper competitor after a pricing review.",
        "Chose a competitor bundled with their CRM.",
    ],
    "cost": ["Budget cut for next fiscal year.", "Asked for a discount we could not give."],
    "change_in_needs": ["Project that used us was wound down.", "Merged teams, fewer seats needed."],
    "champion_left": ["Our sponsor left; the new VP did not renew.", "Admin left and nobody took over."],
    "financial_struggle": ["Layoffs announced this quarter.", "Payment delays before the decision."],
    "features": ["Needed SSO on the lower tier.", "Missing the reporting API they asked for twice."],
    "fit": ["Use case never matched the product.", "Too small for the platform."],
    "support": ["Two escalations unresolved for weeks.", "Unhappy with onboarding."],
    "other": ["See email thread with the account team."],
}


@dataclass
class DemoSummary:
    customers: int
    lines: int
    cases: int
    reasons_recorded: int


def build_demo(today=None, stdout=None) -> DemoSummary:
    """Generate, import, set up the logins, recompute, record reasons; ``stdout`` gets progress."""
    from .importing import import_directory
    from .recompute import recompute_all

    say = stdout.write if stdout else (lambda text: None)
    today = today or timezone.localdate()
    with tempfile.TemporaryDirectory(prefix="retention-demo-") as directory:
        counts = generate(
            directory,
            customers=CUSTOMERS,
            years=YEARS,
            today=today,
            seed=SEED,
            teams=TEAMS,
            users=TEAM_PEOPLE,
            named_users=LOGINS,
        )
        bill_some_in_euros_and_pounds(directory, today)
        # One transaction: all or nothing, and the recompute the import queues for after the
        # commit finds nothing left to do, since recompute_all has done it.
        with transaction.atomic():
            deleted = delete_demo_customers()
            if deleted:
                say(f"Removed the {deleted} customers of the previous demo.")
            import_directory(directory)
            set_up_logins()
            say(f"Imported {counts['customers.csv']} customers, {counts['contracts.csv']} contract lines; recomputing.")
            recompute_all(today)
            recorded = record_demo_reasons(User.objects.get(email=LOGINS[0].email))
    return DemoSummary(
        customers=counts["customers.csv"],
        lines=counts["contracts.csv"],
        cases=ChurnCase.objects.filter(void=False).count(),
        reasons_recorded=recorded,
    )


# SPEC section 7 in the demo: EMEA customers bill in EUR (every third in GBP) and the rates move
# month by month, so the pages show figures converted at constant currency.
DEMO_RATES = {"EUR": (Decimal("1.05"), Decimal("0.004")), "GBP": (Decimal("1.24"), Decimal("0.005"))}


def demo_rate(code: str, month_index: int) -> Decimal:
    """A rate that drifts up and down by a few cents over the months (deterministic)."""
    base, step = DEMO_RATES[code]
    wave = (0, 1, 2, 3, 2, 1, 0, -1, -2, -3, -2, -1)[month_index % 12]
    return base + step * wave


def bill_some_in_euros_and_pounds(directory, today) -> None:
    """Rewrite the generated contracts of EMEA customers into EUR or GBP (amounts in whole units of
    that currency, about the same value) and write their rate history as fx_rates.csv."""
    import csv
    from pathlib import Path

    from .engine import add_months

    directory = Path(directory)
    with open(directory / "customers.csv", newline="", encoding="utf-8") as f:
        emea = [row["external_id"] for row in csv.DictReader(f) if row["region"] == "EMEA"]
    currency_of = {external_id: "GBP" if n % 3 == 2 else "EUR" for n, external_id in enumerate(emea)}
    first = date(today.year - YEARS - 1, 1, 1)
    months = []
    month = first
    while month <= today:
        months.append(month)
        month = add_months(month, 1)
    with open(directory / "fx_rates.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["currency", "valid_from", "rate"])
        for code in sorted(DEMO_RATES):
            for index, month in enumerate(months):
                writer.writerow([code, month.isoformat(), f"{demo_rate(code, index)}"])
    path = directory / "contracts.csv"
    with open(path, newline="", encoding="utf-8") as f:
        lines_reader = csv.DictReader(f)
        columns, rows = list(lines_reader.fieldnames or []), list(lines_reader)
    for row in rows:
        billed_in = currency_of.get(row["customer_external_id"])
        if billed_in:
            base = DEMO_RATES[billed_in][0]
            row["currency"] = billed_in
            row["arr"] = f"{(Decimal(row['arr']) / base).quantize(Decimal('100'))}.00"
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.DictWriter(f, fieldnames=columns)
        out.writeheader()
        out.writerows(rows)


def demo_customer_ids() -> list[str]:
    return [f"C{number:06d}" for number in range(1, CUSTOMERS + 1)]


def delete_demo_customers() -> int:
    """Delete a previous run's customers and every row pointing at them (lines, assignments, churn
    cases, movements and their history), one bulk statement a table and chunk: deleting row by
    row would fire thousands of history and recompute signals, and a full recompute follows."""
    ids = list(Customer.objects.filter(external_id__in=demo_customer_ids()).values_list("id", flat=True))
    dependants = [
        (model._meta.db_table, field.column)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model is Customer
    ]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            for table, column in [*dependants, (Customer._meta.db_table, "id")]:
                cursor.execute(f"DELETE FROM {quote(table)} WHERE {quote(column)} IN ({marks})", chunk)
    return len(ids)


def set_up_logins() -> None:
    password = make_password(PASSWORD)  # hashed once: the five logins share the demo password
    for login in LOGINS:
        user = User.objects.get(email=login.email)
        user.full_name = login.full_name
        user.role = Role.LEAD if login.lead else login.role
        user.is_staff = user.is_superuser = login.role == Role.ADMIN
        user.is_active = True
        user.password = password
        user.save()


@dataclass(frozen=True)
class CaseReasons:
    primary: str
    secondaries: list[str]
    notes: str
    days_to_record: int


def choose_reasons(case_key: str, kind: str, codes: set[str]) -> CaseReasons | None:
    """Reasons for one case from its key alone (None for the unrecorded share), among ``codes``."""
    rng = random.Random(case_key)
    if rng.random() >= RECORDED_SHARE[kind]:
        return None
    weights = {code: w for code, w in PRIMARY_WEIGHTS[kind].items() if code in codes}
    if not weights:
        return None
    primary = rng.choices(list(weights), weights=list(weights.values()))[0]
    others = [code for code in sorted(codes) if code != primary]
    wanted = 2 if rng.random() < 0.12 else 1 if rng.random() < 0.35 else 0
    secondaries = rng.sample(others, min(wanted, len(others)))
    notes = rng.choice(NOTES.get(primary, [""])) if rng.random() < 0.6 else ""
    # Recorded a few days after the loss, as an admin would after the exit call.
    return CaseReasons(primary, secondaries, notes, days_to_record=rng.randint(2, 21))


def record_demo_reasons(recorded_by: User) -> int:
    """Record reasons on about 80% of the non-void cases that have none yet; return how many."""
    seed_reasons(ChurnReason)  # the demo's reasons are the seeded taxonomy's codes
    reasons = {r.code: r for r in ChurnReason.objects.filter(active=True)}
    now = timezone.now()
    cases = ChurnCase.objects.filter(void=False, primary_reason__isnull=True).select_related("customer")
    changed = []
    for case in cases:
        chosen = choose_reasons(f"{case.customer.external_id}:{case.date}", case.kind, set(reasons))
        if chosen is None:
            continue
        secondaries = [reasons[code] for code in chosen.secondaries] + [None, None]
        case.primary_reason = reasons[chosen.primary]
        case.secondary_reason_1, case.secondary_reason_2 = secondaries[:2]
        case.notes = chosen.notes
        case.recorded_by = recorded_by
        recorded_on = case.date + timedelta(days=chosen.days_to_record)
        case.recorded_at = min(now, datetime.combine(recorded_on, time(10), tzinfo=UTC))
        changed.append(case)
    fields = ["primary_reason", "secondary_reason_1", "secondary_reason_2", "notes", "recorded_by", "recorded_at"]
    bulk_update_with_history(changed, ChurnCase, fields, batch_size=500, default_user=recorded_by)
    return len(changed)
