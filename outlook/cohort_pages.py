"""The cohort page's selectors: the heatmap table, its CSV records and the scopes a viewer may
pick, read from the cohort rows the workers wrote (``cohort_snapshots``)."""

from __future__ import annotations

from collections.abc import Iterator

from metrics.queries import Scope
from metrics.scoping import Visibility
from metrics.vocabulary import CUSTOMER_ATTRIBUTES, PRODUCT, ROLE_LABELS, ROLES

from .models import CohortRow


def cohort_colour(value) -> str:
    """A cell's background: red for nothing kept, through pale, to green above 100%."""
    if value is None:
        return ""
    v = float(value)  # a colour only; the number shown is the Decimal
    if v >= 1:
        return f"background: hsl(130, 45%, {max(62, 90 - (v - 1) * 120):.0f}%)"
    return f"background: hsl({v * 60:.0f}, 75%, {70 + v * 22:.0f}%)"


def cohort_csv_records(cohort_rows) -> Iterator[dict]:
    """Every cell of these cohort rows as one CSV record (streamed: a row per cell)."""
    for r in cohort_rows.iterator():
        for k, measured_on, paying, arr, revenue, logos in r.cells():
            yield {
                "granularity": r.granularity,
                "scope_type": r.scope_type,
                "scope_key": r.scope_key,
                "role": r.role,
                "cohort_start": r.cohort_start.isoformat(),
                "k": k,
                "measured_on": measured_on.isoformat(),
                "customers": r.customers,
                "paying": paying,
                "base_arr": f"{r.base_arr:.2f}",
                "arr": f"{arr:.2f}",
                "revenue_retention": "" if revenue is None else f"{revenue:.4f}",
                "logo_retention": "" if logos is None else f"{logos:.4f}",
            }


def cohort_table(cohort_rows, metric: str) -> tuple[list[dict], int]:
    """The heatmap's rows (a cell per month or quarter since the cohort's start) and its width."""
    table, width = [], 0
    for r in cohort_rows:
        cells = []
        for _k, measured_on, paying, arr, revenue, logos in r.cells():
            value = revenue if metric == "revenue" else logos
            cells.append(
                {
                    "value": value,
                    "style": cohort_colour(value),
                    "title": f"{paying} of {r.customers} paying, ARR {arr:,.2f} on {measured_on}",
                }
            )
        table.append({"start": r.cohort_start, "customers": r.customers, "base_arr": r.base_arr, "cells": cells})
        width = max(width, len(cells))
    return table, width


def cohort_choices(vis: Visibility, granularity: str) -> list[tuple[str, Scope]]:
    """The scopes whose heatmaps the viewer may open, labelled."""
    choices = []
    if vis.sees_everything:
        choices.append(("Company", Scope.company()))
        for attribute in (*CUSTOMER_ATTRIBUTES, PRODUCT):
            for key in (
                CohortRow.objects.filter(granularity=granularity, scope_type=attribute)
                .values_list("scope_key", flat=True)
                .distinct()
                .order_by("scope_key")
            ):
                choices.append((f"{attribute.replace('_', ' ').capitalize()}: {key}", Scope(attribute, key)))
    for team in vis.teams().order_by("name"):
        for role in ROLES:
            choices.append((f"Team {team.name} ({ROLE_LABELS[role]})", Scope.team(team, role)))
    if not vis.sees_everything:
        for user in vis.users().order_by("email"):
            for role in ROLES:
                choices.append((f"Owner {user.email} ({ROLE_LABELS[role]})", Scope.owner(user, role)))
    return choices
