"""The runs a span points at are not checked by the database.

Every run moves last_run on every span it sees again, and PostgreSQL's deferred foreign-key
check of that column cost as much as the update itself (12,000 checks on a re-run of a large
listing). The application never deletes runs; Django still applies SET_NULL on ORM deletes.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tracker", "0008_pricechange_retracted_index"),
    ]

    operations = [
        migrations.AlterField(
            model_name="pricespan",
            name="first_run",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="tracker.scraperun",
            ),
        ),
        migrations.AlterField(
            model_name="pricespan",
            name="last_run",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="tracker.scraperun",
            ),
        ),
    ]
