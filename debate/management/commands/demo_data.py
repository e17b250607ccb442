from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from debate.demo import DEMO_PASSWORD, demo_data_create


class Command(BaseCommand):
    help = "Load the fixture stories and create demo users and sessions (first run only)."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="URL to print.")
        parser.add_argument(
            "--force", action="store_true", help="Allow demo users outside embedded mode."
        )

    def handle(self, *args, url: str, force: bool, **options) -> None:
        if not settings.EMBEDDED and not force:
            raise CommandError(
                "Refusing to create demo users with a known password outside embedded mode; "
                "pass --force if you really want them."
            )
        summary = demo_data_create()
        state = "created" if summary.created else "already present"
        sessions = ", ".join(f"{n} {label}" for label, n in summary.sessions.items())
        self.stdout.write(f"Demo data {state}: sessions {sessions}.")
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"  Open {url} in a browser."))
        self.stdout.write(f"  Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, role in summary.users:
            self.stdout.write(f"    {username:<8} {role}")
        self.stdout.write(f"  Admin site: {url.rstrip('/')}/admin/")
        self.stdout.write("")
