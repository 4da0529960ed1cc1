"""manage.py import_data DIR (SPEC section 4): idempotent, all or nothing, errors that say where."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Team, TeamMembership, User
from metrics import importing
from metrics.importing import parse_arr, validate_row
from metrics.models import Assignment, ContractLine, Customer, FxRate, PendingRecompute
from tests.import_support import BASE, changed, rejected, run_import, write_files


def table_contents():
    """Every row of every table the import writes, to prove a run changed nothing."""
    models = [
        User,
        Team,
        TeamMembership,
        Customer,
        ContractLine,
        Assignment,
        Assignment.history.model,
        PendingRecompute,
        FxRate,
        FxRate.history.model,
    ]
    return {model.__name__: list(model.objects.order_by("pk").values_list()) for model in models}


@pytest.mark.django_db
def test_full_import_creates_every_kind_of_row(tmp_path):
    out, err = run_import(write_files(tmp_path, BASE))

    assert "customers.csv: 2 created, 0 updated, 0 unchanged" in out
    assert "contracts.csv: 3 created, 0 updated, 0 unchanged" in out
    assert "users.csv: 3 created, 0 updated, 0 unchanged" in out
    assert err == ""

    csm = User.objects.get(email="csm@example.com")
    assert csm.full_name == "Cora CSM" and csm.role == "member"  # empty role: the default
    assert not csm.has_usable_password()
    assert User.objects.get(email="lead@example.com").role == "lead"
    east = Team.objects.get(name="Success East")
    assert east.function == "customer_success" and east.lead.email == "lead@example.com"
    assert Team.objects.get(name="Growth").lead is None

    # users.csv team: one membership from the earliest date on; team_memberships.csv: dated moves.
    assert list(TeamMembership.objects.filter(user=csm).values_list("team__name", "start_date", "end_date")) == [
        ("Success East", date(1900, 1, 1), None)
    ]
    assert list(
        TeamMembership.objects.filter(user__email="am@example.com").values_list("team__name", "start_date", "end_date")
    ) == [("Success East", date(2024, 1, 1), date(2024, 6, 30)), ("Growth", date(2024, 7, 1), None)]

    acme = Customer.objects.get(external_id="C-1")
    assert (acme.name, acme.segment, acme.region, acme.industry, acme.use_case) == (
        "Acme",
        "Enterprise",
        "EMEA",
        "Manufacturing",
        "Reporting",
    )
    assert Customer.objects.get(external_id="C-2").region == ""
    lines = {line.external_id: line for line in ContractLine.objects.all()}
    assert lines["L-1"].arr == Decimal("1234.50") and lines["L-1"].currency == "USD"
    assert lines["L-1"].end_date == date(2024, 12, 31) and lines["L-1"].customer == acme
    assert lines["L-2"].currency == "EUR" and lines["L-2"].end_date is None
    assert lines["L-3"].arr == Decimal("1200.50") and lines["L-3"].currency == "USD"

    owners = list(
        Assignment.objects.filter(customer=acme, role="csm").values_list("user__email", "start_date", "end_date")
    )
    assert owners == [
        ("csm@example.com", date(2024, 1, 1), date(2024, 6, 30)),
        ("lead@example.com", date(2024, 7, 1), None),
    ]
    history = Assignment.history.filter(customer_id=acme.pk)
    # Each change names its import run (when, from which folder); lines, customers and memberships too.
    [reason] = set(history.values_list("history_change_reason", flat=True))
    assert history.count() == 3 and reason.startswith("CSV import ") and reason.endswith(f"from {tmp_path.name}")
    assert set(ContractLine.history.filter(customer_id=acme.pk).values_list("history_change_reason", flat=True)) == {
        reason
    }
    assert Customer.history.filter(id=acme.pk, history_type="+").count() == 1
    # Exchange rates came in (every figure converts with them): the recompute queued is a full one.
    assert set(PendingRecompute.objects.values_list("customer_id", flat=True)) == {None}
    assert list(FxRate.objects.values_list("currency", "valid_from", "rate")) == [
        ("EUR", date(2024, 1, 1), Decimal("1.08"))
    ]


@pytest.mark.django_db
def test_importing_the_same_files_twice_changes_nothing(tmp_path):
    directory = write_files(tmp_path, BASE)
    run_import(directory)
    before = table_contents()

    out, _ = run_import(directory)

    assert table_contents() == before
    assert "contracts.csv: 0 created, 0 updated, 3 unchanged" in out
    assert "team_memberships.csv: 0 created, 0 updated, 2 unchanged, 0 deleted" in out
    assert "Nothing changed." in out


@pytest.mark.django_db
def test_a_second_import_updates_only_what_differs(tmp_path):
    run_import(write_files(tmp_path / "first", BASE))
    files = changed("contracts.csv", "L-3,C-2,Core,2024-02-01,,1200.5", "L-3,C-2,Core,2024-02-01,2025-01-31,900")
    files = changed(
        "assignments.csv",
        "C-2,csm@example.com,csm,2024-02-01,",
        "C-2,csm@example.com,csm,2024-02-01,2024-12-31\nC-2,lead@example.com,csm,2025-01-01,",
        files,
    )
    files = changed("customers.csv", "C-2,Beta,SMB", "C-2,Beta Corp,SMB", files)

    out, _ = run_import(write_files(tmp_path / "second", files))

    assert "contracts.csv: 0 created, 1 updated, 2 unchanged" in out
    assert "assignments.csv: 1 created, 1 updated, 3 unchanged" in out
    assert "customers.csv: 0 created, 1 updated, 1 unchanged" in out
    line = ContractLine.objects.get(external_id="L-3")
    assert (line.arr, line.end_date) == (Decimal("900.00"), date(2025, 1, 31))
    assert Customer.objects.get(external_id="C-2").name == "Beta Corp"
    assert list(Assignment.objects.filter(customer__external_id="C-2").values_list("user__email", "end_date")) == [
        ("csm@example.com", date(2024, 12, 31)),
        ("lead@example.com", None),
    ]
    assert ContractLine.objects.count() == 3 and Customer.objects.count() == 2


@pytest.mark.django_db
def test_single_files_resolve_references_from_the_database(tmp_path):
    run_import(write_files(tmp_path / "first", BASE))
    files = {
        "assignments.csv": "customer_external_id,email,role,start_date\nC-2,AM@Example.com,am,2024-02-01\n",
        "users.csv": "email,full_name\nCSM@EXAMPLE.COM,Cora Smith\n",
    }

    out, _ = run_import(write_files(tmp_path / "second", files))

    assert Assignment.objects.get(customer__external_id="C-2", role="am").user.email == "am@example.com"
    assert "users.csv: 0 created, 1 updated, 0 unchanged" in out
    assert User.objects.count() == 3  # emails match case-insensitively
    cora = User.objects.get(email="csm@example.com")
    assert cora.full_name == "Cora Smith"
    assert TeamMembership.objects.filter(user=cora).count() == 1  # no team column: membership kept


@pytest.mark.django_db
def test_missing_optional_columns_and_empty_role_keep_existing_values(tmp_path):
    run_import(write_files(tmp_path / "first", BASE))
    files = {
        "customers.csv": "external_id,name\nC-1,Acme\n",
        "users.csv": "email,full_name,role\nlead@example.com,Lea Lead,\n",
        "contracts.csv": "external_id,customer_external_id,product,start_date,arr\nL-1,C-1,Core,2024-01-01,1234.50\n",
    }

    out, _ = run_import(write_files(tmp_path / "second", files))

    assert Customer.objects.get(external_id="C-1").segment == "Enterprise"
    assert User.objects.get(email="lead@example.com").role == "lead"
    line = ContractLine.objects.get(external_id="L-1")
    assert (line.end_date, line.currency) == (date(2024, 12, 31), "USD")
    assert "Nothing changed." in out


@pytest.mark.django_db
def test_team_memberships_replace_the_membership_users_csv_gave(tmp_path):
    run_import(write_files(tmp_path / "first", BASE))
    files = {
        "team_memberships.csv": "email,team,start_date,end_date\n"
        "csm@example.com,Success East,2023-01-01,2024-03-31\n"
        "csm@example.com,Growth,2024-04-01,\n"
    }

    out, _ = run_import(write_files(tmp_path / "second", files))

    assert "team_memberships.csv: 2 created, 0 updated, 0 unchanged, 1 deleted" in out
    assert list(
        TeamMembership.objects.filter(user__email="csm@example.com").values_list("team__name", "start_date", "end_date")
    ) == [("Success East", date(2023, 1, 1), date(2024, 3, 31)), ("Growth", date(2024, 4, 1), None)]


@pytest.mark.django_db
def test_utf8_byte_order_mark_and_crlf_line_ends_are_accepted(tmp_path):
    customers = "\ufeffexternal_id,name,region\r\nC-7,Société Générale,Europe\r\n"
    run_import(write_files(tmp_path, {"customers.csv": customers}))
    assert Customer.objects.get(external_id="C-7").name == "Société Générale"


@pytest.mark.django_db
def test_one_day_overlap_of_the_same_product_is_a_warning_not_an_error(tmp_path):
    files = changed(
        "contracts.csv",
        "L-3,C-2,Core,2024-02-01,,1200.5,usd",
        "L-3,C-2,Core,2024-02-01,2024-06-30,1200.5,usd\nL-4,C-2,Core,2024-06-30,,1500,usd",
    )

    out, err = run_import(write_files(tmp_path, files))

    assert (
        "warning: contracts.csv, line 4, column end_date: line L-3 of customer C-2 (Core) ends on "
        "2024-06-30, the day line L-4 starts" in err
    )
    assert "contracts.csv: 4 created" in out
    assert ContractLine.objects.count() == 4


ERROR_CASES = {
    "bad date format": (
        "contracts.csv",
        "2024-03-01,,500",
        "2024/03/01,,500",
        "contracts.csv, line 3, column start_date: '2024/03/01' is not a date in the form YYYY-MM-DD",
    ),
    "impossible date": (
        "contracts.csv",
        "2024-02-01,,1200.5",
        "2023-02-29,,1200.5",
        "contracts.csv, line 4, column start_date: '2023-02-29' is not a real calendar date",
    ),
    "amount with letters": (
        "contracts.csv",
        "500,EUR",
        "abc,EUR",
        "contracts.csv, line 3, column arr: 'abc' is not an amount",
    ),
    "amount with two dots": (
        "contracts.csv",
        "500,EUR",
        "1.2.3,EUR",
        "contracts.csv, line 3, column arr: '1.2.3' is not an amount",
    ),
    "misplaced thousands separator": (
        "contracts.csv",
        "500,EUR",
        '"12,34",EUR',
        "contracts.csv, line 3, column arr: '12,34' is not an amount",
    ),
    "three decimals": (
        "contracts.csv",
        "500,EUR",
        "10.005,EUR",
        "contracts.csv, line 3, column arr: '10.005' has more than 2 decimal places",
    ),
    "negative ARR": (
        "contracts.csv",
        "500,EUR",
        "-500,EUR",
        "contracts.csv, line 3, column arr: ARR cannot be negative (-500)",
    ),
    "unknown customer in contracts": (
        "contracts.csv",
        "L-3,C-2",
        "L-3,C-9",
        "contracts.csv, line 4, column customer_external_id: unknown customer 'C-9'",
    ),
    "unknown customer in assignments": (
        "assignments.csv",
        "C-2,csm@example.com",
        "C-9,csm@example.com",
        "assignments.csv, line 5, column customer_external_id: unknown customer 'C-9'",
    ),
    "unknown assignment user": (
        "assignments.csv",
        "C-1,am@example.com,am",
        "C-1,nobody@example.com,am",
        "assignments.csv, line 4, column email: unknown user 'nobody@example.com'",
    ),
    "unknown team lead": (
        "teams.csv",
        "customer_success,lead@example.com",
        "customer_success,ghost@example.com",
        "teams.csv, line 2, column lead_email: unknown user 'ghost@example.com'",
    ),
    "unknown membership user": (
        "team_memberships.csv",
        "am@example.com,Growth",
        "ghost@example.com,Growth",
        "team_memberships.csv, line 3, column email: unknown user 'ghost@example.com'",
    ),
    "unknown team of a user": (
        "users.csv",
        "Cora CSM,Success East",
        "Cora CSM,Nowhere",
        "users.csv, line 3, column team: unknown team 'Nowhere'",
    ),
    "unknown team of a membership": (
        "team_memberships.csv",
        "am@example.com,Growth",
        "am@example.com,Nowhere",
        "team_memberships.csv, line 3, column team: unknown team 'Nowhere'",
    ),
    "overlapping assignments": (
        "assignments.csv",
        "csm,2024-01-01,2024-06-30",
        "csm,2024-01-01,2024-07-01",
        "assignments.csv, line 3, column start_date: this csm assignment of customer C-1 "
        "from 2024-07-01 to open end overlaps the one from 2024-01-01 to 2024-07-01 on line 2",
    ),
    "overlapping memberships": (
        "team_memberships.csv",
        "2024-01-01,2024-06-30",
        "2024-01-01,2024-07-15",
        "team_memberships.csv, line 3, column start_date: am@example.com's membership from "
        "2024-07-01 to open end overlaps the one from 2024-01-01 to 2024-07-15 on line 2",
    ),
    "contract ends before it starts": (
        "contracts.csv",
        "2024-01-01,2024-12-31",
        "2024-01-01,2023-12-31",
        "contracts.csv, line 2, column end_date: the end date 2023-12-31 is before the start date 2024-01-01",
    ),
    "assignment ends before it starts": (
        "assignments.csv",
        "csm,2024-01-01,2024-06-30",
        "csm,2024-01-01,2023-06-30",
        "assignments.csv, line 2, column end_date: the end date 2023-06-30",
    ),
    "missing required column": (
        "contracts.csv",
        "customer_external_id,product,",
        "customer_external_id,produkt,",
        "contracts.csv, line 1, column product: this required column is missing",
    ),
    "bad user role": (
        "users.csv",
        "Success East,lead",
        "Success East,boss",
        "users.csv, line 2, column role: 'boss' is not a valid role; use one of: admin, executive, lead, member",
    ),
    "bad team function": (
        "teams.csv",
        "Growth,account_management",
        "Growth,marketing",
        "teams.csv, line 3, column function: 'marketing' is not a valid team function",
    ),
    "bad assignment role": (
        "assignments.csv",
        "C-1,am@example.com,am",
        "C-1,am@example.com,owner",
        "assignments.csv, line 4, column role: 'owner' is not a valid assignment role; use one of: csm, am",
    ),
    "duplicate contract external_id": (
        "contracts.csv",
        "L-3,C-2",
        "L-1,C-2",
        "contracts.csv, line 4, column external_id: duplicate row (external_id L-1), already on line 2",
    ),
    "duplicate customer external_id": (
        "customers.csv",
        "C-2,Beta",
        "C-1,Beta",
        "customers.csv, line 3, column external_id: duplicate row (external_id C-1)",
    ),
    "empty required value": (
        "customers.csv",
        "C-2,Beta,",
        "C-2,,",
        "customers.csv, line 3, column name: is empty; a value is required",
    ),
    "bad email": (
        "users.csv",
        "csm@example.com,Cora",
        "csm-at-example.com,Cora",
        "users.csv, line 3, column email: 'csm-at-example.com' is not an email address",
    ),
    "too many values": (
        "customers.csv",
        "C-2,Beta,SMB,,,",
        "C-2,Beta,SMB,,,,extra",
        "customers.csv, line 3: has 7 values but the header has 6 columns",
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", ERROR_CASES.values(), ids=ERROR_CASES.keys())
def test_an_invalid_row_rejects_every_file_of_the_run(tmp_path, case):
    filename, old, new, expected = case
    before = table_contents()

    message = rejected(write_files(tmp_path, changed(filename, old, new)))

    assert expected in message
    assert "nothing was saved" in message
    assert table_contents() == before  # not even the valid files' rows


@pytest.mark.django_db
def test_a_rejected_import_leaves_existing_data_exactly_as_it_was(tmp_path):
    run_import(write_files(tmp_path / "first", BASE))
    files = changed("customers.csv", "C-2,Beta,SMB", "C-2,Beta Renamed,SMB")
    files = changed("contracts.csv", "L-3,C-2,Core,2024-02-01,,1200.5", "L-3,C-2,Core,2024-02-01,,12OO", files)
    before = table_contents()

    message = rejected(write_files(tmp_path / "second", files))

    assert "contracts.csv, line 4, column arr: '12OO' is not an amount" in message
    assert table_contents() == before


@pytest.mark.django_db
def test_every_error_of_the_run_is_reported_not_just_the_first(tmp_path):
    files = changed("contracts.csv", "500,EUR", "-5,EUR")
    files = changed("assignments.csv", "C-1,am@example.com,am", "C-1,nobody@example.com,am", files)
    files = changed("customers.csv", "C-2,Beta,SMB", "C-2,Beta,SMB,,,,", files)

    message = rejected(write_files(tmp_path, files))

    assert "(3 error(s))" in message
    assert "contracts.csv, line 3, column arr: ARR cannot be negative" in message
    assert "assignments.csv, line 4, column email: unknown user 'nobody@example.com'" in message
    assert "customers.csv, line 3: has 10 values but the header has 6 columns" in message


@pytest.mark.django_db
def test_the_error_list_is_capped_but_every_error_is_counted(tmp_path):
    customers = "external_id,name\n" + "".join(f"C-{i},\n" for i in range(60))

    message = rejected(write_files(tmp_path, {"customers.csv": customers}))

    assert "(60 error(s))" in message and "... and 10 more error(s)" in message
    assert "customers.csv, line 51, column name: is empty" in message
    assert "customers.csv, line 52," not in message


@pytest.mark.django_db
def test_an_unknown_column_is_ignored_with_a_warning(tmp_path):
    _out, err = run_import(write_files(tmp_path, {"customers.csv": "external_id,name,segmnet\nC-1,Acme,SMB\n"}))

    assert "warning: customers.csv, line 1, column segmnet: unknown column, ignored" in err
    assert Customer.objects.get(external_id="C-1").segment == ""


@pytest.mark.django_db
def test_a_file_that_is_not_utf8_is_rejected_with_its_line(tmp_path):
    before = table_contents()
    customers = "external_id,name,region\nC-1,Acme,EMEA\nC-2,Café Noir,EMEA\n"
    write_files(tmp_path, {"customers.csv": customers}, encoding="latin-1")

    message = rejected(tmp_path)

    assert "customers.csv, line 3, column name: the file is not UTF-8 (byte 0xe9 cannot be read)" in message
    assert table_contents() == before


@pytest.mark.django_db
def test_an_assignment_overlapping_one_in_the_database_is_rejected(tmp_path):
    run_import(write_files(tmp_path / "first", BASE))
    before = table_contents()
    files = {
        "assignments.csv": "customer_external_id,email,role,start_date,end_date\n"
        "C-1,am@example.com,csm,2024-05-01,2024-05-31\n"
    }

    message = rejected(write_files(tmp_path / "second", files))

    assert (
        "assignments.csv, line 2, column start_date: this csm assignment of customer C-1 from 2024-05-01 "
        "to 2024-05-31 overlaps the one from 2024-01-01 to 2024-06-30 in the database"
    ) in message
    assert table_contents() == before


@pytest.mark.django_db
def test_a_users_team_cannot_sit_beside_dated_memberships_in_the_database(tmp_path):
    run_import(write_files(tmp_path / "first", BASE))
    before = table_contents()
    files = {"users.csv": "email,full_name,team\nam@example.com,Adam AM,Growth\n"}

    message = rejected(write_files(tmp_path / "second", files))

    assert "users.csv, line 2, column team: am@example.com has dated team memberships in the database" in message
    assert table_contents() == before


@pytest.mark.django_db
def test_a_directory_without_import_files_is_an_error(tmp_path):
    (tmp_path / "notes.txt").write_text("nothing to import")
    assert "holds none of: teams.csv" in rejected(tmp_path)


@pytest.mark.django_db
def test_query_count_does_not_grow_with_the_number_of_rows(tmp_path):
    def files(count):  # ids carry the count, so both runs create every row
        customers = "external_id,name\n" + "".join(f"C{count}-{i},Customer {i}\n" for i in range(count))
        contracts = "external_id,customer_external_id,product,start_date,arr\n" + "".join(
            f"L{count}-{i}-{p},C{count}-{i},P{p},2024-01-01,100\n" for i in range(count) for p in range(3)
        )
        assignments = "customer_external_id,email,role,start_date\n" + "".join(
            f"C{count}-{i},csm@example.com,csm,2024-01-01\n" for i in range(count)
        )
        return {"customers.csv": customers, "contracts.csv": contracts, "assignments.csv": assignments}

    User.objects.create_user("csm@example.com")
    queries = {}
    for count in (5, 300):
        with CaptureQueriesContext(connection) as captured:
            run_import(write_files(tmp_path / str(count), files(count)))
        queries[count] = len(captured)
    assert ContractLine.objects.count() == 3 * 305
    assert queries[300] == queries[5]


def natural_contents():
    """What the import wrote, by natural keys (ids and timestamps differ between two runs)."""
    external_id = dict(Customer.objects.values_list("id", "external_id"))
    assignments = {
        a.id: (external_id[a.customer_id], a.user.email, a.role, a.start_date, a.end_date)
        for a in Assignment.objects.select_related("user")
    }
    columns = {a.id: (a.customer_id, a.user_id, a.role, a.start_date, a.end_date) for a in Assignment.objects.all()}
    return {
        "users": sorted(
            (
                u.email,
                u.full_name,
                u.role,
                u.is_active,
                u.is_staff,
                u.is_superuser,
                u.last_login,
                u.date_joined is not None,
                u.has_usable_password(),
            )
            for u in User.objects.all()
        ),
        "teams": sorted(Team.objects.values_list("name", "function", "lead__email")),
        "memberships": sorted(
            TeamMembership.objects.values_list("user__email", "team__name", "start_date", "end_date")
        ),
        "customers": sorted(
            Customer.objects.values_list("external_id", "name", "segment", "region", "industry", "use_case")
        ),
        "lines": sorted(
            ContractLine.objects.values_list(
                "external_id", "customer__external_id", "product", "start_date", "end_date", "arr", "currency"
            )
        ),
        "assignments": sorted(assignments.values()),
        "history": sorted(
            (
                assignments[h.id],
                (h.customer_id, h.user_id, h.role, h.start_date, h.end_date) == columns[h.id],
                h.history_type,
                h.history_change_reason.startswith("CSV import "),  # the run's name
                h.history_user_id,
                h.history_date is not None,
            )
            for h in Assignment.history.all()
        ),
        "pending": sorted(
            external_id.get(p, "everything") for p in PendingRecompute.objects.values_list("customer_id", flat=True)
        ),
        "rates": sorted(FxRate.objects.values_list("currency", "valid_from", "rate")),
        "rate history": sorted(
            (currency, valid_from, rate, kind, reason.startswith("CSV import "))  # the run's name (its time differs)
            for currency, valid_from, rate, kind, reason in FxRate.history.values_list(
                "currency", "valid_from", "rate", "history_type", "history_change_reason"
            )
        ),
    }


@pytest.mark.django_db
def test_copy_and_portable_paths_write_the_same_rows(tmp_path, monkeypatch):
    """On PostgreSQL new rows go in by COPY (no INSERT for them); the portable bulk_create path
    (SQLite's) writes the same rows, history records and recompute requests, and both re-import
    to nothing changed."""
    directory = write_files(tmp_path, BASE)
    contents = {}
    for postgresql in (False, True):
        monkeypatch.setattr(importing.database, "_postgresql", lambda postgresql=postgresql: postgresql)
        with transaction.atomic():
            with CaptureQueriesContext(connection) as captured:
                out, _ = run_import(directory)
            contents[postgresql] = natural_contents()
            inserts = [q["sql"] for q in captured if q["sql"].startswith('INSERT INTO "metrics_contractline"')]
            assert bool(inserts) is not postgresql
            assert "contracts.csv: 3 created" in out and "assignments.csv: 4 created" in out
            before = table_contents()
            assert "Nothing changed." in run_import(directory)[0] and table_contents() == before
            transaction.set_rollback(True)
        if connection.vendor != "postgresql":
            break  # SQLite has no COPY: the portable path only
    assert len(contents[False]["history"]) == 4
    assert {h[1:] for h in contents[False]["history"]} == {(True, "+", True, None, True)}
    if connection.vendor == "postgresql":
        assert contents[True] == contents[False]


@pytest.mark.parametrize(
    ("text", "amount"),
    [("1234.5", "1234.50"), ("1,234.50", "1234.50"), ("0", "0.00"), ("1,000,000", "1000000.00"), ("12.3", "12.30")],
)
def test_arr_accepts_plain_and_thousands_separated_amounts(text, amount):
    assert parse_arr(text) == Decimal(amount)


def test_row_validation_is_reusable_and_reports_errors_by_column():
    values, errors = validate_row(
        "contracts",
        {
            "external_id": "L-1",
            "customer_external_id": "C-1",
            "product": "Core",
            "start_date": "2024-05-01",
            "end_date": "2024-04-30",
            "arr": "1,2",
            "currency": "",
        },
    )
    assert errors == {
        "arr": "'1,2' is not an amount; write it like 1234.50 or 1,234.50",
        "end_date": "the end date 2024-04-30 is before the start date 2024-05-01",
    }
    assert values["currency"] == "USD" and values["start_date"] == date(2024, 5, 1)


# --- exchange rates (SPEC section 7) --------------------------------------------------------------


@pytest.mark.django_db
def test_exchange_rates_import_all_or_nothing_idempotent_and_case_insensitive(tmp_path):
    files = {"fx_rates.csv": "currency,valid_from,rate\neur,2024-01-01,1.08\nGBP,2024-01-01,1.25\nEUR,2024-07-01,1.1\n"}
    out, _ = run_import(write_files(tmp_path / "first", files))
    assert "fx_rates.csv: 3 created, 0 updated, 0 unchanged" in out
    assert sorted(FxRate.objects.values_list("currency", "valid_from", "rate")) == [
        ("EUR", date(2024, 1, 1), Decimal("1.08")),
        ("EUR", date(2024, 7, 1), Decimal("1.1")),
        ("GBP", date(2024, 1, 1), Decimal("1.25")),
    ]
    assert set(PendingRecompute.objects.values_list("customer_id", flat=True)) == {None}  # a full recompute
    before = table_contents()
    out, _ = run_import(write_files(tmp_path / "first", files))
    assert "Nothing changed." in out and table_contents() == before
    # A changed rate updates its row (kept in the history) and asks for a full recompute again.
    PendingRecompute.objects.all().delete()
    run_import(write_files(tmp_path / "second", {"fx_rates.csv": "currency,valid_from,rate\nEUR,2024-07-01,1.12\n"}))
    assert FxRate.objects.get(currency="EUR", valid_from=date(2024, 7, 1)).rate == Decimal("1.12")
    assert FxRate.history.filter(currency="EUR", valid_from=date(2024, 7, 1)).count() == 2
    assert set(PendingRecompute.objects.values_list("customer_id", flat=True)) == {None}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        ("EURO,2024-01-01,1.1", "currency", "'EURO' is not a three-letter currency code such as USD"),
        ("ABC,2024-01-01,1.1", "currency", "'ABC' is not an ISO 4217 currency code"),
        ("EUR,2024-13-01,1.1", "valid_from", "'2024-13-01' is not a real calendar date"),
        ("EUR,2024-01-01,0", "rate", "the rate 0 must be above zero"),
        ("EUR,2024-01-01,-1.1", "rate", "the rate -1.1 must be above zero"),
        ("EUR,2024-01-01,1.0000000001", "rate", "has more than 9 decimals"),
        ("EUR,2024-01-01,abc", "rate", "'abc' is not a number"),
        ("USD,2024-01-01,1", "currency", "USD is the reporting currency"),
    ],
)
def test_a_bad_rate_row_rejects_the_whole_run_naming_file_line_and_column(tmp_path, row, column, reason):
    files = {**BASE, "fx_rates.csv": f"currency,valid_from,rate\nEUR,2024-01-01,1.08\n{row}\n"}
    message = rejected(write_files(tmp_path, files))
    assert f"fx_rates.csv, line 3, column {column}" in message and reason in message
    assert not FxRate.objects.exists() and not ContractLine.objects.exists()


@pytest.mark.django_db
def test_a_line_in_a_currency_without_any_rate_is_refused_at_import(tmp_path):
    files = {name: content for name, content in BASE.items() if name != "fx_rates.csv"}
    message = rejected(write_files(tmp_path, files))
    # L-2 (line 3 of contracts.csv) is in EUR and no rate of EUR is in the database nor the files.
    assert "contracts.csv, line 3, column currency" in message and "no exchange rate for EUR" in message
    assert not ContractLine.objects.exists() and not Customer.objects.exists()
    # With the rate already in the database, the same files go in.
    FxRate.objects.create(currency="EUR", valid_from=date(2020, 1, 1), rate=Decimal("1.1"))
    run_import(write_files(tmp_path, files))
    assert ContractLine.objects.get(external_id="L-2").currency == "EUR"
