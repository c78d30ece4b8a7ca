"""AddOnOffer.sold_units (backfilled from the cart lines) and Survey.catalog_version."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce


def count_sold_units(apps, schema_editor):
    """Every offer's units in non-test carts, as update_cart keeps them from now on."""
    AddOnOffer = apps.get_model("surveys", "AddOnOffer")
    CartLine = apps.get_model("surveys", "CartLine")
    units = (
        CartLine.objects.filter(offer_id=OuterRef("pk"), is_test=False)
        .order_by()
        .values("offer_id")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    AddOnOffer.objects.update(sold_units=Coalesce(Subquery(units), 0))


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0002_survey_invites_responses"),
    ]

    operations = [
        migrations.AddField(
            model_name="addonoffer",
            name="sold_units",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="survey",
            name="catalog_version",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(count_sold_units, migrations.RunPython.noop),
    ]
