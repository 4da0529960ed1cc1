from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from metrics.importing import ImportRejected
from outlook.targets import import_targets


class Command(BaseCommand):
    help = "Import yearly NRR/GRR targets from targets.csv (all or nothing, idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="targets.csv, or a directory holding it")

    def handle(self, path, **options):
        file = Path(path)
        if file.is_dir():
            file = file / "targets.csv"
        if not file.is_file():
            raise CommandError(f"{file}: no such file.")
        try:
            count = import_targets(file.read_bytes(), filename=file.name)
        except ImportRejected as rejected:
            raise CommandError(str(rejected)) from None
        self.stdout.write(f"{count} target(s) imported from {file}.")
