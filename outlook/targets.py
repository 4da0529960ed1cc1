"""Targets (SPEC section 8): a fiscal year's NRR and GRR target per company, team and owner.

Settled details (the SPEC is silent):
- A target is yearly, so it stands beside the figures that span a year: the fiscal year's own
  row and every trailing-twelve-months window ending in that fiscal year (and the year's
  forecast). Months and quarters are not compared with a yearly target.
- The gap is the figure minus the target, in rate points; at or above the target is green,
  below it red; an undefined figure or a missing target has no gap.
- Tables rank by gap, most behind first; rows with no gap come last, by name.

``fiscal_year_of``, ``target_year``, ``gap`` and ``rank_by_gap`` are pure; ``TargetBook`` reads
the targets once per request; ``import_targets`` is the all-or-nothing CSV import.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

YEARLY = ("year", "ttm")
COLUMNS = ["fiscal_year", "scope_type", "scope_key", "role", "nrr", "grr"]
REQUIRED = ["fiscal_year", "scope_type"]


def fiscal_year_of(day: date, start_month: int) -> int:
    """The fiscal year holding a day, named by the calendar year of its first day."""
    return day.year if day.month >= start_month else day.year - 1


def target_year(granularity: str, period_start: date, period_end: date, start_month: int) -> int | None:
    """The fiscal year whose target a row is held to: a year's own, a TTM window's last month's; else none."""
    if granularity == "year":
        return fiscal_year_of(period_start, start_month)
    if granularity == "ttm":
        return fiscal_year_of(period_end, start_month)
    return None


def gap(value: Decimal | None, target: Decimal | None) -> Decimal | None:
    if value is None or target is None:
        return None
    return value - target


def rank_by_gap(items: list, gap_of, name_of) -> list:
    """Most behind target first; items without a gap after, by name."""
    with_gap = sorted((i for i in items if gap_of(i) is not None), key=lambda i: (gap_of(i), name_of(i)))
    without = sorted((i for i in items if gap_of(i) is None), key=name_of)
    return with_gap + without


def parse_rate(value: str) -> Decimal:
    """'1.05' or '105%' -> Decimal('1.0500'): a ratio above 0 and below 10."""
    text = value.strip()
    percent = text.endswith("%")
    try:
        number = Decimal(text[:-1].strip() if percent else text)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a rate (write 1.05 or 105%).") from None
    if percent:
        number /= 100
    if not number.is_finite() or number <= 0 or number >= 10:
        raise ValueError(f"{value!r} is out of range: a target is a ratio above 0 (1.05 or 105%).")
    return number.quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class TargetValue:
    nrr: Decimal | None
    grr: Decimal | None


class TargetBook:
    """Every target, keyed like the snapshots: (fiscal year, scope type, scope key, role)."""

    def __init__(self, targets):
        self.by_key = {(t.fiscal_year, t.scope_type, t.scope_key, t.role): TargetValue(t.nrr, t.grr) for t in targets}

    @classmethod
    def load(cls) -> TargetBook:
        from .models import Target

        return cls(Target.objects.select_related("team", "user"))

    def get(self, fiscal_year: int | None, scope_type: str, scope_key: str, role: str) -> TargetValue | None:
        if fiscal_year is None:
            return None
        return self.by_key.get((fiscal_year, scope_type, scope_key, role))

    def for_row(self, row, start_month: int) -> TargetValue | None:
        """The target a snapshot row is held to (None: no target, or not a yearly row)."""
        fy = target_year(row.granularity, row.period_start, row.period_end, start_month)
        return self.get(fy, row.scope_type, row.scope_key, row.role)

    def __bool__(self):
        return bool(self.by_key)


# --- the import ---------------------------------------------------------------------------------


def import_targets(data: bytes | str, by=None, filename: str = "targets.csv") -> int:
    """Create or update targets from ``targets.csv`` (``fiscal_year, scope_type, scope_key, role,
    nrr, grr``; a rate as 1.05 or 105%, an empty one means no target for it), all or nothing: any
    invalid row raises ``metrics.importing.ImportRejected`` naming file, line, column and reason.
    Idempotent by (fiscal year, scope, role). Returns the number of rows."""
    from metrics.importing import ImportRejected, Issues

    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            issues = Issues()
            issues.error(filename, 1, None, "The file is not UTF-8 text.")
            raise ImportRejected(issues) from None
    wanted, issues = validate_rows(data, filename)
    if issues.error_count:
        raise ImportRejected(issues)
    save_targets(wanted, by)
    return len(wanted)


def save_targets(wanted: list, by=None) -> list:
    from django.db import transaction

    from .models import Target

    saved = []
    with transaction.atomic():
        for (fy, scope_type, team_id, user_id, role), rates in wanted:
            target, _ = Target.objects.update_or_create(
                fiscal_year=fy,
                scope_type=scope_type,
                team_id=team_id,
                user_id=user_id,
                role=role,
                defaults={"nrr": rates.get("nrr"), "grr": rates.get("grr"), "updated_by": by},
            )
            saved.append(target)
    return saved


def validate_rows(text: str, filename: str):
    """([((fiscal year, scope type, team id, user id, role), {"nrr": .., "grr": ..}), ...], Issues)."""
    from accounts.models import Team, User
    from metrics.importing import Issues

    issues = Issues()
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        what = "; ".join(
            [f"missing column(s) {', '.join(missing)}"] * bool(missing)
            + [f"unknown column(s) {', '.join(unknown)}"] * bool(unknown)
        )
        issues.error(filename, 1, None, f"{what} (columns: {', '.join(COLUMNS)}).")
        return [], issues
    teams = dict(Team.objects.values_list("name", "id"))
    users: dict = {}
    wanted: list = []
    seen: dict = {}
    for line, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        errors_before = issues.error_count

        def bad(column, message, line=line):
            issues.error(filename, line, column, message)

        try:
            fy = int(row.get("fiscal_year", ""))
            if not 2000 <= fy <= 2100:
                raise ValueError
        except ValueError:
            bad("fiscal_year", f"{row.get('fiscal_year')!r} is not a year (2000-2100).")
            continue
        scope_type, key, role = row.get("scope_type", ""), row.get("scope_key", ""), row.get("role", "")
        team_id = user_id = None
        if scope_type == "company":
            if key or role:
                bad("scope_key" if key else "role", "The company target has no scope_key and no role.")
                continue
        elif scope_type in ("team", "owner"):
            if role not in ("csm", "am"):
                bad("role", f"{role!r}: a {scope_type} target needs the role csm or am.")
                continue
            if scope_type == "team":
                team_id = teams.get(key)
                if team_id is None:
                    bad("scope_key", f"No team named {key!r}.")
                    continue
            else:
                if key.lower() not in users:
                    users[key.lower()] = User.objects.filter(email__iexact=key).values_list("id", flat=True).first()
                user_id = users[key.lower()]
                if user_id is None:
                    bad("scope_key", f"No user with the email {key!r}.")
                    continue
        else:
            bad("scope_type", f"{scope_type!r}: use company, team or owner.")
            continue
        rates = {}
        for column in ("nrr", "grr"):
            if row.get(column):
                try:
                    rates[column] = parse_rate(row[column])
                except ValueError as error:
                    bad(column, str(error))
        if issues.error_count > errors_before:
            continue
        if not rates:
            bad("nrr", "Give an nrr target, a grr target, or both.")
            continue
        natural = (fy, scope_type, team_id, user_id, role)
        if natural in seen:
            bad("scope_key", f"The same target is already on line {seen[natural]}.")
            continue
        seen[natural] = line
        wanted.append((natural, rates))
    return wanted, issues


# --- on pages -----------------------------------------------------------------------------------


def book_for(request) -> TargetBook:
    """The targets, read once per request."""
    book = getattr(request, "_outlook_targets", None)
    if book is None:
        book = request._outlook_targets = TargetBook.load()
    return book


def attach_gaps(request, items: list, metric: str) -> bool:
    """Set each table item's ``target`` and ``gap`` (its row's ``metric`` against its target);
    True when at least one item has a gap."""
    from django.conf import settings

    book = book_for(request)
    any_gap = False
    for item in items:
        row = item.row
        value = book.for_row(row, settings.FISCAL_YEAR_START_MONTH) if row is not None else None
        item.target = getattr(value, metric) if value else None
        item.gap = gap(getattr(row, metric, None), item.target) if row is not None else None
        any_gap = any_gap or item.gap is not None
    return any_gap


def rank_items(request, items: list, metric: str, name_of) -> list:
    """A team or owner table ranked by the gap of ``metric`` when it has any, else as it was."""
    if not attach_gaps(request, items, metric):
        return items
    return rank_by_gap(items, lambda i: i.gap, name_of)
