"""PostgreSQL exclusion constraints against overlapping spans, and the seeded reason taxonomy.

SQLite has no exclusion constraints; there the models' clean() and the importer check overlaps.
"""

from django.db import migrations

from metrics.taxonomy import seed_reasons as create_seed_reasons

EXCLUSIONS = [
    ("metrics_assignment", "assignment_no_overlap", "customer_id WITH =, role WITH ="),
    ("accounts_teammembership", "membership_no_overlap", "user_id WITH ="),
]


def add_exclusions(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    for table, name, columns in EXCLUSIONS:
        schema_editor.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} EXCLUDE USING gist "
            f"({columns}, daterange(start_date, end_date, '[]') WITH &&)"
        )


def drop_exclusions(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, name, _ in EXCLUSIONS:
        schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}")


def seed_reasons(apps, schema_editor):
    create_seed_reasons(apps.get_model("metrics", "ChurnReason"))


class Migration(migrations.Migration):
    dependencies = [("metrics", "0001_initial"), ("accounts", "0001_initial")]

    operations = [
        migrations.RunPython(add_exclusions, drop_exclusions),
        migrations.RunPython(seed_reasons, migrations.RunPython.noop),
    ]
