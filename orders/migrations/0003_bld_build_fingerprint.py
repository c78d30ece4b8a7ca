from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0002_order_core"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="build_fingerprint",
            field=models.CharField(blank=True, editable=False, max_length=40),
        ),
    ]
