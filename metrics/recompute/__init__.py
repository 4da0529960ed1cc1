"""The recompute: from contract lines, assignments and memberships to retention snapshots.

One module per step: ``loading`` (the inputs, live or frozen), ``engine`` (the metric math,
vectorized, no Django), ``shards`` (a full run split across workers), ``writing`` (snapshots,
cases, status) and ``triggers`` (pending changes, new days, waking the workers).
"""

from __future__ import annotations

from datetime import date


def recompute_all(as_of: date | None = None):
    """Recompute every snapshot and churn case now, every shard in this process (manage.py recompute)."""
    from . import shards, triggers

    return shards.recompute_all_here(as_of or triggers.today())


def process_pending(as_of: date | None = None):
    """Carry out the pending changes now, in this process (what the workers run)."""
    from . import triggers

    return triggers.process_pending(as_of)
