from django.core.management.base import BaseCommand
from django.utils import timezone

from affiliates.services import create_api_key


class Command(BaseCommand):
    help = "Create a server-to-server API key. The key is printed once, on the last line."

    def add_arguments(self, parser):
        parser.add_argument("name", help="What the key is for, e.g. 'product backend'.")

    def handle(self, *args, name: str, **options):
        key, raw = create_api_key(name=name, now=timezone.now())
        self.stderr.write(
            f"Created API key '{key.name}' ({key.prefix}…). Use it as 'Authorization: Bearer <key>'."
        )
        self.stdout.write(raw)
