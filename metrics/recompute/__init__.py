"""The recompute: from contract lines, assignments and memberships to retention snapshots."""
