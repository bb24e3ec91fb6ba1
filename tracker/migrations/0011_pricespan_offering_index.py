"""Spans lose their one-column offering index: pricespan_key_time (offering, meter, tier,
valid_from) starts with the same column and serves every lookup by offering.

The extra index cost every span insert an entry. Worse, being the smallest index on the
column, it drew the planner to it for (source, offering) probes, which it then answered by
filtering every span of the offering (the spans download's per-part pair probes).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tracker", "0010_pricespan_source_key"),
    ]

    operations = [
        migrations.AlterField(
            model_name="pricespan",
            name="offering",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.PROTECT, to="tracker.offering"
            ),
        ),
    ]
