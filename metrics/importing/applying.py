"""Step 3 of the CSV import, per file: the checked rows as changes to each table, written in
dependency order, and the customers whose figures they may move."""

from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from typing import Any, cast

from django.contrib.auth.hashers import make_password

from accounts.models import Role, Team, TeamMembership, User

from ..models import Assignment, ContractLine, Customer, FxRate
from .database import Database, _chunks
from .layouts import EARLIEST
from .reading import Row
from .writing import Changes, _deleted_history, diff, write


def _given(values: dict, *columns) -> dict:
    """The columns the file had (a missing optional column leaves existing values alone)."""
    return {column: values[column] for column in columns if column in values}


def apply(rows: dict[str, list[Row]], db: Database, touched: set[int | None]) -> dict[str, dict[str, int]]:
    """Write the checked rows (users before teams: a team's lead may be a user created here).

    ``touched`` receives the ids of the customers whose figures the import may move (None: every customer).
    """
    counts: dict[str, dict[str, int]] = {}
    user_ids = {email: user["id"] for email, user in db.users.items()}
    team_ids = {name: team["id"] for name, team in db.teams.items()}
    customer_ids = {external_id: c["id"] for external_id, c in db.customers.items()}

    user_changes = _apply_users(rows["users"], db, user_ids) if "users" in rows else Changes()
    if "teams" in rows:
        counts["teams.csv"] = _apply_teams(rows["teams"], db, user_ids, team_ids)
    moved_users: set[int] = set()
    membership_changed = _apply_memberships(rows, db, user_ids, team_ids, counts, moved_users)
    if "users" in rows:
        created = {values["email"] for values in user_changes.create}
        updated = ({values["email"] for values in user_changes.update} | membership_changed) - created
        counts["users.csv"] = {
            "created": len(created),
            "updated": len(updated),
            "unchanged": len(rows["users"]) - len(created) - len(updated),
        }
    if "customers" in rows:
        counts["customers.csv"] = _apply_customers(rows["customers"], db, customer_ids, touched)
    if "fx_rates" in rows:
        counts["fx_rates.csv"] = _apply_rates(rows["fx_rates"], db, touched)
    if "contracts" in rows:
        counts["contracts.csv"] = _apply_contracts(rows["contracts"], db, customer_ids, touched)
    if "assignments" in rows:
        counts["assignments.csv"] = _apply_assignments(rows["assignments"], db, customer_ids, user_ids, touched)
    if moved_users:  # a team move re-attributes the mover's whole book
        touched.update(Assignment.objects.filter(user_id__in=moved_users).values_list("customer_id", flat=True))
    return counts


def _values(rows: list[Row]) -> Iterator[dict[str, Any]]:
    """The cleaned values of a file's rows (``check`` let only valid rows through)."""
    return (cast("dict[str, Any]", r.values) for r in rows)


def _apply_users(rows: list[Row], db: Database, user_ids: dict[str, int]) -> Changes:
    """users.csv; adds the new users' ids to ``user_ids``. Its counts come once memberships are in."""
    desired: dict[str, dict[str, Any]] = {}
    for v in _values(rows):
        wanted = _given(v, "email", "full_name")
        if v.get("role") or v["email"] not in db.users:  # an empty role never demotes anyone
            wanted["role"] = v.get("role") or Role.MEMBER
        desired[v["email"]] = wanted
    existing = {
        email: {"id": u["id"], "email": email, "full_name": u["full_name"], "role": u["role"]}
        for email, u in db.users.items()
    }
    user_changes = diff(desired.items(), existing)
    for values in user_changes.create:
        values["password"] = make_password(None)  # unusable: an owner who never logs in
    new_ids = write(User, user_changes, ["full_name", "role"])
    user_ids |= {values["email"]: pk for values, pk in zip(user_changes.create, new_ids, strict=True)}
    return user_changes


def _apply_teams(rows: list[Row], db: Database, user_ids: dict[str, int], team_ids: dict[str, int]) -> dict[str, int]:
    """teams.csv; adds the new teams' ids to ``team_ids``."""
    desired: dict[str, dict[str, Any]] = {}
    for v in _values(rows):
        desired[v["name"]] = _given(v, "name", "function")
        if "lead_email" in v:
            desired[v["name"]]["lead_id"] = user_ids[v["lead_email"]] if v["lead_email"] else None
    changes = diff(desired.items(), db.teams)
    new_ids = write(Team, changes, ["function", "lead_id"])
    team_ids |= {values["name"]: pk for values, pk in zip(changes.create, new_ids, strict=True)}
    return changes.counts()


def _apply_customers(
    rows: list[Row], db: Database, customer_ids: dict[str, int], touched: set[int | None]
) -> dict[str, int]:
    """customers.csv; adds the new customers' ids to ``customer_ids``."""
    fields = ["name", "segment", "region", "industry", "use_case"]
    desired = ((v["external_id"], _given(v, "external_id", *fields)) for v in _values(rows))
    changes = diff(desired, db.customers)
    new_ids = write(Customer, changes, fields, history=True)
    customer_ids |= {values["external_id"]: pk for values, pk in zip(changes.create, new_ids, strict=True)}
    touched.update(new_ids)
    touched.update(values["id"] for values in changes.update)
    return changes.counts()


def _apply_rates(rows: list[Row], db: Database, touched: set[int | None]) -> dict[str, int]:
    """fx_rates.csv."""
    desired = (((v["currency"], v["valid_from"]), dict(v)) for v in _values(rows))
    changes = diff(desired, db.rates)
    write(FxRate, changes, ["rate"], history=True)
    if changes.create or changes.update:
        touched.add(None)  # every figure converts with the rates: a full recompute
    return changes.counts()


def _apply_contracts(
    rows: list[Row], db: Database, customer_ids: dict[str, int], touched: set[int | None]
) -> dict[str, int]:
    """contracts.csv."""
    fields = ["product", "start_date", "end_date", "arr", "currency"]
    desired = (
        (v["external_id"], _given(v, "external_id", *fields) | {"customer_id": customer_ids[v["customer_external_id"]]})
        for v in _values(rows)
    )
    changes = diff(desired, db.lines)
    write(ContractLine, changes, ["customer_id", *fields], history=True)
    touched.update(values["customer_id"] for values in changes.create + changes.update)
    touched.update(db.lines[values["external_id"]].customer_id for values in changes.update)  # moved from
    return changes.counts()


def _apply_assignments(
    rows: list[Row], db: Database, customer_ids: dict[str, int], user_ids: dict[str, int], touched: set[int | None]
) -> dict[str, int]:
    """assignments.csv."""

    def desired() -> Iterator[tuple[tuple[int, str, date], dict[str, Any]]]:
        for v in _values(rows):
            key = (customer_ids[v["customer_external_id"]], v["role"], v["start_date"])
            yield (
                key,
                _given(v, "end_date")
                | {"customer_id": key[0], "role": key[1], "start_date": key[2], "user_id": user_ids[v["email"]]},
            )

    existing = {(a.customer_id, a.role, a.start_date): a for group in db.assignments.values() for a in group}
    changes = diff(desired(), existing)
    write(Assignment, changes, ["user_id", "end_date"], history=True)
    touched.update(values["customer_id"] for values in changes.create + changes.update)
    return changes.counts()


def _membership_changes(spans_by_email, db, user_ids, replace: bool) -> tuple[Changes, dict[int, int]]:
    """Changes for {email: {start_date: values}}; with ``replace``, also the rows to drop (id: user id)."""
    stale: dict[int, int]
    desired, existing, stale = {}, {}, {}
    for email, spans in spans_by_email.items():
        user_id = user_ids[email]
        current = {m["start_date"]: m for m in db.memberships.get(user_id, [])} if email in db.users else {}
        for start, values in spans.items():
            desired[(user_id, start)] = values | {"user_id": user_id, "start_date": start}
            if start in current:
                existing[(user_id, start)] = current[start]
        if replace:
            stale |= {m["id"]: user_id for start, m in current.items() if start not in spans}
    return diff(desired.items(), existing), stale


def _apply_memberships(rows, db, user_ids, team_ids, counts, moved: set[int]) -> set[str]:
    """team_memberships.csv replaces its users' memberships; users.csv `team` sets one from 1900.

    Returns the emails of users.csv users whose membership changed (they count as updated), and
    adds every user whose memberships changed to ``moved``.
    """
    from_file: defaultdict[str, dict[date, dict[str, Any]]] = defaultdict(dict)  # email -> start_date -> values
    for v in (r.values for r in rows.get("team_memberships", [])):
        from_file[v["email"]][v["start_date"]] = {"team_id": team_ids[v["team"]], "end_date": v.get("end_date")}
    from_users = {
        v["email"]: {EARLIEST: {"team_id": team_ids[v["team"]], "end_date": None}}
        for v in (r.values for r in rows.get("users", []))
        if v.get("team") and v["email"] not in from_file
    }

    file_changes, stale = _membership_changes(from_file, db, user_ids, replace=True)
    user_changes, _ = _membership_changes(from_users, db, user_ids, replace=False)
    _deleted_history(TeamMembership, [m for ms in db.memberships.values() for m in ms if m["id"] in stale])
    for chunk in _chunks(list(stale)):
        # A raw delete: no per-row signals (the recompute is queued once), nothing refers to memberships.
        TeamMembership.objects.filter(id__in=chunk)._raw_delete(TeamMembership.objects.db)
    write(TeamMembership, file_changes, ["team_id", "end_date"], history=True)
    write(TeamMembership, user_changes, ["team_id", "end_date"], history=True)
    if "team_memberships" in rows:
        counts["team_memberships.csv"] = file_changes.counts() | {"deleted": len(stale)}
    changed = {values["user_id"] for values in user_changes.create + user_changes.update}
    moved |= changed | set(stale.values()) | {values["user_id"] for values in file_changes.create + file_changes.update}
    return {email for email in from_users if user_ids[email] in changed}
