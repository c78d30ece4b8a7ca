"""Exports for warehouses: the creator's own column templates and the record of
which orders each export carried."""

from django.conf import settings
from django.db import models


class ExportLayout(models.TextChoices):
    PER_LINE = "per_line", "One row per order line"
    PER_ORDER = "per_order", "One row per order"
    PER_ORDER_SKU_COLUMNS = "per_order_skus", "One row per order, a column per SKU"


class ExportTemplate(models.Model):
    """A creator's column template: `columns` is a list of {"field", "header"}
    in the order they appear; fields come from `orders.exports.FIELDS`."""

    campaign = models.ForeignKey(
        "pledges.Campaign", on_delete=models.CASCADE, related_name="export_templates"
    )
    name = models.CharField(max_length=80)
    layout = models.CharField(max_length=20, choices=ExportLayout.choices)
    columns = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["campaign", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "name"], name="export_template_per_campaign"
            )
        ]

    def __str__(self):
        return self.name


class ExportBatch(models.Model):
    campaign = models.ForeignKey(
        "pledges.Campaign", on_delete=models.CASCADE, related_name="export_batches"
    )
    template_name = models.CharField(max_length=80)
    # The template as it was used ({"field", "header"} in order): a past batch downloads
    # again with these columns, whatever became of the template since (renamed,
    # changed, deleted). Empty for batches from before it was kept (then by name).
    layout = models.CharField(max_length=20, blank=True)
    columns = models.JSONField(default=list, blank=True)
    format = models.CharField(max_length=10, default="csv")
    include_exported = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    order_count = models.PositiveIntegerField(default=0)
    row_count = models.PositiveIntegerField(default=0)
    orders = models.ManyToManyField("orders.Order", through="ExportBatchOrder", related_name="+")

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "export batches"

    def __str__(self):
        return f"Export {self.pk} ({self.template_name})"


class ExportBatchOrder(models.Model):
    """One order of an export batch. Written only by an export, a row per order in one
    statement (250,000 at once for a large campaign), never changed; removed with its
    batch or its order through Django's cascade (every delete of either goes through
    the ORM). So PostgreSQL keeps no foreign-key constraint on either column: each
    row's check at commit cost more than writing the row (about 6 s of a 250,000-order
    export)."""

    # Looked up through export_batch_order_once (batch first): no index of its own.
    batch = models.ForeignKey(
        ExportBatch,
        on_delete=models.CASCADE,
        related_name="entries",
        db_index=False,
        db_constraint=False,
    )
    # No index of its own either: nothing looks entries up by order but the cascade
    # when an order is deleted (rare: one scan then), while every export writes one
    # entry per order into it (about 0.5 s of a 250,000-order export).
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.CASCADE,
        related_name="export_entries",
        db_constraint=False,
        db_index=False,
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "order"], name="export_batch_order_once")
        ]

    def __str__(self):
        return f"Order {self.order_id} in export {self.batch_id}"
