from django.db import migrations, models


class Migration(migrations.Migration):
    """A shard's totals are dense arrays (``BlockTotals.to_bytes``), no longer JSON. Rows of
    this table only live for the length of one full recompute, so none is converted."""

    dependencies = [("metrics", "0011_figures_first_month")]

    operations = [
        migrations.RunSQL("DELETE FROM metrics_shardresult", migrations.RunSQL.noop),
        migrations.RemoveField(model_name="shardresult", name="payload"),
        migrations.AddField(
            model_name="shardresult", name="totals", field=models.BinaryField(default=b""), preserve_default=False
        ),
    ]
