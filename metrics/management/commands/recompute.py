from django.core.management.base import BaseCommand

from metrics.recompute import recompute_all


class Command(BaseCommand):
    help = "Recompute every retention snapshot and churn case now, every shard in this process (the workers' code)."

    def handle(self, *args, **options):
        summary = recompute_all()
        self.stdout.write(
            f"Recomputed {summary.rows} retention rows in {summary.customers} shard(s) in {summary.seconds:.1f} s."
        )
