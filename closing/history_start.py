"""For the migrations that start an edit history: a "+" record for every row that already
exists, so that the first later edit is compared with the row as it was (simple_history's
``populate_history`` does the same, one model at a time)."""

from django.utils import timezone

REASON = "edit history started"


def start_history(app_label: str, model_name: str, fields: list[str]):
    def forwards(apps, schema_editor):
        model = apps.get_model(app_label, model_name)
        historical = apps.get_model(app_label, f"Historical{model_name}")
        now = timezone.now()
        batch = []
        for values in model.objects.values("id", *fields).iterator(chunk_size=5000):
            batch.append(historical(**values, history_date=now, history_type="+", history_change_reason=REASON))
            if len(batch) >= 5000:
                historical.objects.bulk_create(batch)
                batch = []
        historical.objects.bulk_create(batch)

    return forwards
