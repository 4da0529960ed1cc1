"""The workers' step that writes the cohort heatmaps (``CohortRow``) after the retention figures
land, from the same frozen inputs (``Snapshot*`` of the current input version), so the cohorts
always agree with the figures beside them. The math is ``outlook.cohorts`` (numpy, pure).

One run reads the frozen lines, customers, assignments and memberships once, computes the month
and quarter heatmaps of every scope (company; segment, region, industry, use case; team and owner
per role; product, over customer-product pairs), and replaces every row in one transaction. A run for a generation already done is a
no-op, so the task may be queued after every landing without piling up work.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from metrics.vocabulary import UNASSIGNED, UNKNOWN

from .cohorts import OPEN_END, compute, day_number, grid

log = logging.getLogger(__name__)
ATTRIBUTES = ("segment", "region", "industry", "use_case")
GRANULARITIES = ("month", "quarter")
BATCH = 5000


def _codes(values: list[str]) -> tuple[np.ndarray, list[str]]:
    keys = sorted(set(values))
    index = {k: i for i, k in enumerate(keys)}
    return np.array([index[v] for v in values], dtype=np.int64), keys


def recompute_cohorts(force: bool = False) -> dict:
    from accounts.models import Team, User
    from metrics.models import RecomputeStatus, SnapshotAssignment, SnapshotCustomer, SnapshotLine, SnapshotMembership

    from .models import CohortRow, CohortStatus

    status = RecomputeStatus.objects.filter(pk=1).first()
    if status is None or status.as_of is None or not status.input_version:
        return {"cohorts": "no figures yet"}
    state = CohortStatus.get()
    if state.generation == status.generation and not force:
        return {"cohorts": "up to date", "generation": status.generation}
    started = time.monotonic()
    version, as_of, generation = status.input_version, status.as_of, status.generation

    raw = np.array(
        list(
            SnapshotLine.objects.filter(version=version).values_list(
                "customer_id", "start_date", "end_date", "arr_cents", "product"
            )
        ),
        dtype=object,
    ).reshape(-1, 5)
    loaded = {}
    if len(raw):
        lines = (
            raw[:, 0].astype(np.int64),
            np.array([day_number(d) for d in raw[:, 1]], dtype=np.int64),
            np.array([day_number(d) for d in raw[:, 2]], dtype=np.int64),
            raw[:, 3].astype(np.int64),
        )
        pair_lines, product_scope = _product_pairs(lines, raw[:, 4].tolist())
        customers = sorted(SnapshotCustomer.objects.filter(version=version).values_list("customer_id", *ATTRIBUTES))
        cids = np.array([c[0] for c in customers], dtype=np.int64)
        scopes = {("company", ""): (cids, np.zeros(len(cids), dtype=np.int64), [""])}
        for i, attribute in enumerate(ATTRIBUTES, start=1):
            codes, keys = _codes([c[i] or UNKNOWN for c in customers])
            scopes[attribute, ""] = (cids, codes, keys)
        assignments = list(
            SnapshotAssignment.objects.filter(version=version).values_list(
                "customer_id", "user_id", "role", "start_date", "end_date"
            )
        )
        memberships: dict = {}
        for user_id, team_id, start, end in SnapshotMembership.objects.filter(version=version).values_list(
            "user_id", "team_id", "start_date", "end_date"
        ):
            memberships.setdefault(user_id, []).append((day_number(start), day_number(end), team_id))
        emails = dict(User.objects.values_list("id", "email"))
        names = dict(Team.objects.values_list("id", "name"))
        first_paid = lines[1][lines[3] > 0]
        first_day = None if not len(first_paid) else _date(int(first_paid.min()))
        for granularity in GRANULARITIES if first_day else ():
            assert first_day is not None
            starts, ends, g = grid(granularity, first_day, as_of, settings.FISCAL_YEAR_START_MONTH)
            owned = _owner_scopes(lines, cids, g, assignments, memberships, emails, names)
            rows = compute(lines, {**scopes, **owned}, g)
            rows += compute(pair_lines, product_scope, g)
            loaded[granularity] = (starts, ends, rows)
    cohort_rows = []
    for granularity, (starts, _ends, rows) in loaded.items():
        for r in rows:
            cohort_rows.append(
                CohortRow(
                    granularity=granularity,
                    scope_type=r.scope_type,
                    scope_key=r.scope_key,
                    role=r.role,
                    cohort_start=starts[r.cohort],
                    as_of=as_of,
                    customers=r.customers,
                    base_arr_cents=r.base_arr_cents,
                    paying=r.paying,
                    arr_cents=r.arr_cents,
                )
            )
    cells = sum(len(r.paying) for r in cohort_rows)
    computed = time.monotonic()
    with transaction.atomic():
        # One writer at a time; a run that finds newer cells already written steps aside.
        if CohortStatus.objects.select_for_update().get(pk=1).generation >= generation and not force:
            return {"cohorts": "written meanwhile", "generation": generation}
        CohortRow.objects.all().delete()
        for i in range(0, len(cohort_rows), BATCH):
            CohortRow.objects.bulk_create(cohort_rows[i : i + BATCH])
        seconds = time.monotonic() - started
        CohortStatus.objects.filter(pk=1).update(
            generation=generation, computed_at=timezone.now(), seconds=seconds, cells=cells, rows=len(cohort_rows)
        )
    log.info(
        "cohorts: %d rows (%d cells) for generation %d: computed in %.2f s, written in %.2f s",
        len(cohort_rows),
        cells,
        generation,
        computed - started,
        time.monotonic() - computed,
    )
    return {"cohorts": len(cohort_rows), "cells": cells, "generation": generation, "seconds": round(seconds, 3)}


def _product_pairs(lines, products: list[str]) -> tuple[tuple, dict]:
    """The lines re-keyed by customer-product pair, and the product scope over those pairs.

    A product's cohorts count pairs, not customers: a customer joins the product's cohort of the
    month of its first revenue *in that product* and brings that product's ARR only (a customer
    adding a product in 2026 starts a 2026 cohort of it, whatever it bought before). Pair id =
    customer id * number of products + product code, so ids stay sorted by customer."""
    customer, start, end, arr = lines
    codes, keys = _codes([p or UNKNOWN for p in products])
    pair = customer * len(keys) + codes
    pairs = np.unique(pair)
    return (pair, start, end, arr), {("product", ""): (pairs, pairs % len(keys), keys)}


def _date(number: int):
    from datetime import timedelta

    from .cohorts import EPOCH

    return EPOCH + timedelta(days=number)


def _owner_scopes(lines, cids, g, assignments, memberships, emails, names) -> dict:
    """Team and owner group codes per role: the owner on the last measured day of each customer's
    first period, and that owner's team that day."""
    from .cohorts import cohort_index

    line_customer, line_start, _, line_arr = lines
    index = np.searchsorted(cids, line_customer)
    cohort = cohort_index(index, line_start, line_arr, len(cids), g)
    base = np.where(cohort >= 0, g.ends[np.clip(cohort, 0, None)], OPEN_END)
    position = {int(c): i for i, c in enumerate(cids)}
    scopes = {}
    for role in ("csm", "am"):
        owner = [None] * len(cids)
        for customer_id, user_id, a_role, start, end in assignments:
            i = position.get(customer_id)
            if a_role != role or i is None:
                continue
            if day_number(start) <= base[i] <= day_number(end):
                owner[i] = user_id
        owner_keys, team_keys = [], []
        for i, user_id in enumerate(owner):
            if user_id is None:
                owner_keys.append(UNASSIGNED)
                team_keys.append(UNASSIGNED)
                continue
            owner_keys.append(emails.get(user_id, UNASSIGNED))
            team = next((t for s, e, t in memberships.get(user_id, ()) if s <= base[i] <= e), None)
            team_keys.append(names.get(team, UNASSIGNED))
        codes, keys = _codes(owner_keys)
        scopes["owner", role] = (cids, codes, keys)
        codes, keys = _codes(team_keys)
        scopes["team", role] = (cids, codes, keys)
    return scopes
