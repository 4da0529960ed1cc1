"""The file layouts of the CSV import (SPEC section 4): each file's columns and how a row is cleaned."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from accounts.models import Role, Team, TeamFunction, User

from .. import currency as money
from ..models import AssignmentRole, ContractLine, Customer
from .cells import choice, parse_arr, parse_currency, parse_date, parse_email, parse_rate, text

EARLIEST = date(1900, 1, 1)  # start of the membership users.csv's `team` gives


@dataclass(frozen=True)
class Column:
    name: str
    parse: Callable[[str], object]
    required: bool = True  # the column must be in the header and its cells not empty
    blank_ok: bool = False  # ... unless this says an empty cell is fine
    empty: object = None  # the value an empty cell stands for (called, if callable)


def optional(name, parse, empty=None):
    return Column(name, parse, required=False, blank_ok=True, empty=empty)


@dataclass(frozen=True)
class FileSpec:
    filename: str
    columns: tuple[Column, ...]

    @property
    def required_columns(self):
        return [column.name for column in self.columns if column.required]


FILES: dict[str, FileSpec] = {  # in dependency order
    "teams": FileSpec(
        "teams.csv",
        (
            Column("name", text(Team, "name")),
            Column("function", choice(TeamFunction, "team function")),
            optional("lead_email", parse_email),
        ),
    ),
    "users": FileSpec(
        "users.csv",
        (
            Column("email", parse_email),
            Column("full_name", text(User, "full_name"), blank_ok=True, empty=""),
            optional("team", text(Team, "name", recurs=True)),
            optional("role", choice(Role, "role")),
        ),
    ),
    "team_memberships": FileSpec(
        "team_memberships.csv",
        (
            Column("email", parse_email),
            Column("team", text(Team, "name", recurs=True)),
            Column("start_date", parse_date),
            optional("end_date", parse_date),
        ),
    ),
    "customers": FileSpec(
        "customers.csv",
        (
            Column("external_id", text(Customer, "external_id")),
            Column("name", text(Customer, "name")),
            optional("segment", text(Customer, "segment", recurs=True), empty=""),
            optional("region", text(Customer, "region", recurs=True), empty=""),
            optional("industry", text(Customer, "industry", recurs=True), empty=""),
            optional("use_case", text(Customer, "use_case", recurs=True), empty=""),
        ),
    ),
    "fx_rates": FileSpec(
        "fx_rates.csv",
        (
            Column("currency", parse_currency),
            Column("valid_from", parse_date),
            Column("rate", parse_rate),
        ),
    ),
    "contracts": FileSpec(
        "contracts.csv",
        (
            Column("external_id", text(ContractLine, "external_id")),
            Column("customer_external_id", text(Customer, "external_id", recurs=True)),
            Column("product", text(ContractLine, "product", recurs=True)),
            Column("start_date", parse_date),
            optional("end_date", parse_date),
            Column("arr", parse_arr),
            optional("currency", parse_currency, empty=money.reporting_currency),
        ),
    ),
    "assignments": FileSpec(
        "assignments.csv",
        (
            Column("customer_external_id", text(Customer, "external_id", recurs=True)),
            Column("email", parse_email),
            Column("role", choice(AssignmentRole, "assignment role")),
            Column("start_date", parse_date),
            optional("end_date", parse_date),
        ),
    ),
}


def validate_row(kind: str, row: dict) -> tuple[dict, dict[str, str]]:
    """Clean one row of a file kind: (values of the columns given, {column: error message}).

    Needs no database, so forms and the API can reuse it; references (does this customer
    exist?) and overlaps are checked over the whole run by ``import_directory``.
    """
    values: dict[str, Any]  # str, date, Decimal or None per column
    values, errors = {}, {}
    for column in FILES[kind].columns:
        if column.name not in row:
            if column.required:
                errors[column.name] = "is required"
            continue
        cell = (row[column.name] or "").strip()
        if not cell:
            if column.blank_ok:
                values[column.name] = column.empty() if callable(column.empty) else column.empty
            else:
                errors[column.name] = "is empty; a value is required"
            continue
        try:
            values[column.name] = column.parse(cell)
        except ValueError as error:
            errors[column.name] = str(error)
    start, end = values.get("start_date"), values.get("end_date")
    if start and end and end < start:
        errors["end_date"] = f"the end date {end} is before the start date {start}"
    return values, errors
