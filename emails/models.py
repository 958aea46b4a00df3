from django.db import models

from affiliates.models import Affiliate


class SentEmail(models.Model):
    """A periodic e-mail already sent to an affiliate for a period (the digest's day
    "2026-11-02", the report's month "2026-10"): the unique key makes the sending job safe to
    run twice (beat repeats, acks-late redelivery), written in the transaction that queues
    the mail, so a rolled-back run leaves neither."""

    affiliate = models.ForeignKey(Affiliate, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=64)  # the registered e-mail (emails.catalog)
    period = models.CharField(max_length=16)
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["affiliate", "name", "period"], name="one_periodic_email_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.period} to {self.affiliate_id}"
