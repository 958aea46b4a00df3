"""Demo affiliates for seed_demo (idempotent)."""

from datetime import datetime
from random import Random

from affiliates.models import Affiliate, Plan, User
from affiliates.services import create_affiliate

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-demo-pass"
DEMO_PASSWORD = "demo-pass-1234"


def seed(*, now: datetime, rng: Random) -> list[str]:
    Plan.objects.get_or_create(name="Default", defaults={"is_default": True})
    if not User.objects.filter(email=ADMIN_EMAIL).exists():
        User.objects.create_superuser(email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
    if not Affiliate.objects.filter(username="alice").exists():
        create_affiliate(
            email="alice@example.org",
            username="alice",
            password=DEMO_PASSWORD,
            approved=True,
            now=now,
        )
    return [
        f"Admin:     {ADMIN_EMAIL} / {ADMIN_PASSWORD}  (http://127.0.0.1:8000/admin/)",
        f"Affiliate: alice@example.org / {DEMO_PASSWORD}  (http://127.0.0.1:8000/dashboard/)",
    ]
