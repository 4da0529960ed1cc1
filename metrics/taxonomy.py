"""The churn reason taxonomy every installation starts with (one reason per category)."""

SEED_REASONS = [
    ("fit", "Poor fit", "fit"),
    ("features", "Missing features", "features"),
    ("support", "Support experience", "support"),
    ("cost", "Cost", "cost"),
    ("change_in_needs", "Change in needs", "change_in_needs"),
    ("financial_struggle", "Financial struggle", "financial_struggle"),
    ("competitor", "Moved to a competitor", "competitor"),
    ("champion_left", "Champion left", "champion_left"),
    ("other", "Other", "other"),
]


def seed_reasons(reason_model) -> None:
    """Create the seeded reasons that are missing; never touches reasons an admin has edited."""
    for code, label, category in SEED_REASONS:
        reason_model.objects.get_or_create(code=code, defaults={"label": label, "category": category})
