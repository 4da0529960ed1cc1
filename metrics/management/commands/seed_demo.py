from django.core.management.base import BaseCommand

from metrics import demo


class Command(BaseCommand):
    help = (
        "Build the demo company (5 teams, about 30 users, 800 customers over four years), its five "
        "logins and recorded churn reasons. Running it again resets and rebuilds the demo's customers."
    )

    def handle(self, *args, **options):
        summary = demo.build_demo(stdout=self.stdout)
        self.stdout.write(
            f"Demo ready: {summary.customers} customers, {summary.lines} contract lines, "
            f"{summary.cases} churn cases, {summary.reasons_recorded} with reasons."
        )
        self.stdout.write(f"Logins (password {demo.PASSWORD}):")
        for login in demo.LOGINS:
            role = "lead" if login.lead else login.role
            self.stdout.write(f"  {login.email:<20} {role}")
