from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import models


class Quote(models.Model):
    application = models.ForeignKey("workflow.Application", on_delete=models.CASCADE, related_name="quotes")
    currency = models.CharField(max_length=3)
    total = models.DecimalField(max_digits=12, decimal_places=2, help_text="The sum of the items.")
    valid_until = models.DateField()
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    accepted_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(total__gt=0), name="quote_total_positive"),
            # At most one live quote per application: revising supersedes the old one.
            models.UniqueConstraint(
                fields=["application"], condition=models.Q(superseded_at__isnull=True), name="one_live_quote"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.total} {self.currency} until {self.valid_until}"

    def expired(self, today: date) -> bool:
        """Past its last valid day (`today` is the office's local date). Acceptance is refused then."""
        return self.valid_until < today

    def compute_total(self) -> Decimal:
        return sum((item.amount for item in self.items.all()), Decimal("0"))


class QuoteItem(models.Model):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="items")
    description = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="quote_item_amount_positive")]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"
