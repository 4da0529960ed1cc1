"""manage.py import_data DIR: the CSV import of SPEC section 4 (logic in metrics.importing)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from metrics.importing import FILES, ImportRejected, import_directory


class Command(BaseCommand):
    help = (
        "Import whichever of "
        + ", ".join(spec.filename for spec in FILES.values())
        + " are in DIR, all or nothing, then queue a recompute."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", metavar="DIR")
        parser.add_argument(
            "--user",
            metavar="EMAIL",
            help="who runs the import: the edit history names this user for every change it makes",
        )

    def handle(self, *args, directory, user=None, **options):
        runner = None
        if user:
            from accounts.models import User

            runner = User.objects.filter(email__iexact=user.strip()).first()
            if runner is None:
                raise CommandError(f"--user {user}: no user has this email.")
        try:
            result = import_directory(directory, user=runner)
        except FileNotFoundError as error:
            raise CommandError(str(error)) from None
        except ImportRejected as rejected:
            self._warn(rejected.warnings)
            raise CommandError(str(rejected)) from None
        except IntegrityError as error:  # a concurrent change beat this run to a key: nothing saved
            raise CommandError(f"The database refused the import, nothing was saved: {error}") from None
        self._warn(result.warnings)
        for filename, counts in result.counts.items():
            self.stdout.write(f"{filename}: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
        if result.changed:
            self.stdout.write("A recompute of the retention figures is queued.")
        else:
            self.stdout.write("Nothing changed.")

    def _warn(self, warnings):
        for warning in warnings:
            self.stderr.write(f"warning: {warning}")
