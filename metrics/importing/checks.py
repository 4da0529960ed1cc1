"""Step 2 of the CSV import, second half: the cross-row checks of a whole run (duplicates,
references, overlaps) and its warnings, before anything is written."""

from collections import defaultdict
from typing import Any, cast

from .. import currency as money
from .database import Database, DbLine
from .issues import Issues
from .layouts import EARLIEST, FILES
from .reading import Row


def _span(start, end):
    return f"{start} to {end or 'open end'}"


def _first_overlap(spans):
    """Spans are (start, end or None, file row or None for the database); the first overlapping
    pair (earlier, later) that involves the file."""
    reach = None  # of the spans seen so far, the one that ends last
    for span in sorted(spans, key=lambda span: span[0]):
        if reach and (reach[1] is None or reach[1] >= span[0]) and (reach[2] or span[2]):
            return reach, span
        if reach is None or (reach[1] is not None and (span[1] is None or span[1] > reach[1])):
            reach = span
    return None


def check(rows: dict[str, list[Row]], db: Database, issues: Issues) -> None:
    """Cross-row checks of the whole run: duplicates, references, overlaps; and the warnings."""
    known_teams = set(db.teams) | {r.key("name") for r in rows.get("teams", [])}
    known_users = set(db.users) | {r.key("email").lower() for r in rows.get("users", [])}
    known_customers = set(db.customers) | {r.key("external_id") for r in rows.get("customers", [])}

    def valid(kind):
        return [row for row in rows.get(kind, []) if row.cells is not None]

    def refer(kind, row, column, known, what):
        value = row.values.get(column)
        if value and value not in known:
            issues.error(
                FILES[kind].filename,
                row.line,
                column,
                f"unknown {what} '{value}': not in the database nor in {_source(what)}",
            )

    for kind, key in (
        ("teams", ("name",)),
        ("users", ("email",)),
        ("customers", ("external_id",)),
        ("contracts", ("external_id",)),
        ("team_memberships", ("email", "start_date")),
        ("assignments", ("customer_external_id", "role", "start_date")),
        ("fx_rates", ("currency", "valid_from")),
    ):
        _check_unique(kind, valid(kind), key, issues)

    # SPEC section 7: a line in a currency with no rate at all is refused, never summed unconverted.
    reporting = money.reporting_currency()
    for row in valid("fx_rates"):
        if row.values["currency"] == reporting:
            issues.error(
                FILES["fx_rates"].filename,
                row.line,
                "currency",
                f"{reporting} is the reporting currency: its rate is 1 by definition",
            )
    with_rates = {code for code, _ in db.rates} | {row.values["currency"] for row in valid("fx_rates")}
    for row in valid("contracts"):
        code = row.values.get("currency")
        if code and code != reporting and code not in with_rates:
            issues.error(FILES["contracts"].filename, row.line, "currency", money.missing_rate_error(code))

    for row in valid("teams"):
        refer("teams", row, "lead_email", known_users, "user")
    for row in valid("users"):
        refer("users", row, "team", known_teams, "team")
    for row in valid("team_memberships"):
        refer("team_memberships", row, "email", known_users, "user")
        refer("team_memberships", row, "team", known_teams, "team")
    for row in valid("contracts"):
        refer("contracts", row, "customer_external_id", known_customers, "customer")
    for row in valid("assignments"):
        refer("assignments", row, "customer_external_id", known_customers, "customer")
        refer("assignments", row, "email", known_users, "user")

    _check_membership_overlaps(valid("team_memberships"), valid("users"), db, issues)
    _check_assignment_overlaps(valid("assignments"), db, issues)
    _warn_one_day_overlaps(valid("contracts"), db, issues)


def _source(what):
    return {"user": "users.csv", "team": "teams.csv", "customer": "customers.csv"}[what]


def _check_unique(kind, rows, key, issues):
    seen = {}
    for row in rows:
        value = tuple(row.values.get(column) for column in key) if len(key) > 1 else row.values.get(key[0])
        if value in seen:
            shown = ", ".join(
                f"{column} {v}" for column, v in zip(key, value if len(key) > 1 else [value], strict=True)
            )
            issues.error(
                FILES[kind].filename, row.line, key[-1], f"duplicate row ({shown}), already on line {seen[value]}"
            )
        else:
            seen[value] = row.line


def _overlap_message(pair, what):
    """(line to blame, message) for an overlapping pair of (start, end, row or None) spans."""
    earlier, later = pair
    mine, other = (later, earlier) if later[2] else (earlier, later)
    where = f"on line {other[2].line}" if other[2] else "in the database"
    return mine[2].line, (
        f"{what} from {_span(mine[0], mine[1])} overlaps the one from {_span(other[0], other[1])} {where}"
    )


def _check_membership_overlaps(membership_rows, user_rows, db, issues):
    by_user = defaultdict(list)
    for row in membership_rows:
        by_user[row.values["email"]].append(row)
    for email, group in by_user.items():
        pair = _first_overlap([(r.values["start_date"], r.values.get("end_date"), r) for r in group])
        if pair:
            line, message = _overlap_message(pair, f"{email}'s membership")
            issues.error(
                FILES["team_memberships"].filename,
                line,
                "start_date",
                f"{message}: a user belongs to one team on any given day",
            )
    # users.csv `team` is a membership from the earliest date on: it cannot sit beside dated ones.
    for row in user_rows:
        email = row.values["email"]
        if not row.values.get("team") or email in by_user or email not in db.users:
            continue
        dated = [m["start_date"] for m in db.memberships[db.users[email]["id"]] if m["start_date"] != EARLIEST]
        if dated:
            issues.error(
                FILES["users"].filename,
                row.line,
                "team",
                f"{email} has dated team memberships in the database (the first from "
                f"{min(dated)}); a team here would overlap them, so list this user's moves in "
                "team_memberships.csv instead, or leave team empty",
            )


def _check_assignment_overlaps(assignment_rows, db, issues):
    in_file = defaultdict(list)
    for row in assignment_rows:
        v = row.values
        in_file[(v["customer_external_id"], v["role"])].append((v["start_date"], v.get("end_date"), row))
    for (external_id, role), spans in in_file.items():
        customer = db.customers.get(external_id)
        if customer:  # database rows the file does not replace stay, so they must fit too
            replaced = {start for start, _end, _row in spans}
            spans += [
                (a.start_date, a.end_date, None)
                for a in db.assignments[customer["id"]]
                if a.role == role and a.start_date not in replaced
            ]
        pair = _first_overlap(spans)
        if pair:
            line, message = _overlap_message(pair, f"this {role} assignment of customer {external_id}")
            issues.error(
                FILES["assignments"].filename,
                line,
                "start_date",
                f"{message}: a customer has one {role} on any given day",
            )


def _warn_one_day_overlaps(contract_rows, db, issues):
    """A line ending on the day another line of the same customer and product starts."""
    id_to_customer = {c["id"]: external_id for external_id, c in db.customers.items()}
    in_file = {row.key("external_id") for row in contract_rows}
    by_customer = defaultdict(list)  # customer external_id -> file rows, and database lines the file leaves alone
    for line in db.lines.values():
        if line.external_id not in in_file:
            by_customer[id_to_customer.get(line.customer_id)].append(line)
    for row in contract_rows:
        by_customer[row.key("customer_external_id")].append(row)
    for customer, group in by_customer.items():
        lines = [_final_line(line, db) for line in group]  # (external_id, product, start, end, file line or None)
        starting = defaultdict(list)
        for external_id, product, start, _end, line in lines:
            starting[(product, start)].append((external_id, line))
        for external_id, product, _start, end, line in lines:
            for other, other_line in starting.get((product, end), []) if end else []:
                if other == external_id or (line is None and other_line is None):
                    continue  # a one-day line, or both already in the database: not this import's doing
                issues.warn(
                    FILES["contracts"].filename,
                    line or other_line,
                    "end_date",
                    f"line {external_id} of customer {customer} ({product}) ends on {end}, the day "
                    f"line {other} starts, so both count that day; an upgrade usually ends the old "
                    "line the day before",
                )


def _final_line(line: Row | DbLine, db):
    """(external_id, product, start, end, file line or None) of a line once the file is in."""
    if isinstance(line, DbLine):
        return line.external_id, line.product, line.start_date, line.end_date, None
    v, before = cast("dict[str, Any]", line.values), db.lines.get(line.key("external_id"))  # a valid row
    end = v.get("end_date", before.end_date if before else None)
    return v["external_id"], v["product"], v["start_date"], end, line.line
