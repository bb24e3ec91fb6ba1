"""Spans indexed by (source, offering, meter, tier, valid_from), in place of source alone.

The spans download reads each (source, offering) pair's spans through it instead of sorting
every span by slugs; ingest loads a source's spans by offering. The one-column source index
it starts with would be redundant, so it goes: the table keeps as many indexes as before.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tracker", "0009_span_runs_unchecked"),
    ]

    operations = [
        migrations.AlterField(
            model_name="pricespan",
            name="source",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="spans",
                to="tracker.source",
            ),
        ),
        migrations.AddIndex(
            model_name="pricespan",
            index=models.Index(
                fields=["source", "offering", "meter", "tier", "valid_from"],
                name="pricespan_source_key",
            ),
        ),
    ]
