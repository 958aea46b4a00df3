from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from affiliates.models import Plan
from affiliates.services import create_affiliate
from config.errors import ServiceError


class Command(BaseCommand):
    help = "Create a user and its affiliate profile; prints the affiliate's public id on the last line."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("username")
        parser.add_argument("--approved", action="store_true", help="Approve at once.")
        parser.add_argument("--plan", help="Commission plan name (default: the default plan).")
        parser.add_argument(
            "--password", help="Login password (default: none; use password reset)."
        )

    def handle(self, *args, email, username, approved, plan, password, **options):
        plan_obj = None
        if plan:
            plan_obj = Plan.objects.filter(name__iexact=plan).first()
            if plan_obj is None:
                raise CommandError(f"No commission plan named {plan!r}.")
        try:
            affiliate = create_affiliate(
                email=email,
                username=username,
                password=password,
                approved=approved,
                plan=plan_obj,
                now=timezone.now(),
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write(f"Created affiliate {affiliate.username} <{email}> ({affiliate.status}).")
        self.stdout.write(affiliate.public_id)
