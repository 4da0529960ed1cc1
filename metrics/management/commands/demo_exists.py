from django.core.management.base import BaseCommand

from metrics.models import Customer


class Command(BaseCommand):
    help = (
        "Exit with status 0 when the database already holds customers (the demo or imported data), "
        "1 when it holds none. scripts/start.sh builds the demo only then, so a second start keeps "
        "what users recorded. Prints nothing unless -v 2."
    )

    def handle(self, *args, **options):
        exists = Customer.objects.exists()
        if options["verbosity"] >= 2:
            self.stdout.write("customers found" if exists else "no customers")
        if not exists:
            raise SystemExit(1)
