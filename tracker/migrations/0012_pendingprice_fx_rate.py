"""A held price keeps the exchange rate its USD figure was converted with, so the span an
operator's confirmation creates links to it, as a span recorded from a run does.

Prices already held keep no link (they are resolved within a run or two); a later run that
states the price again still brings its own.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tracker", "0011_pricespan_offering_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="pendingprice",
            name="fx_rate",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                to="tracker.fxrate",
            ),
        ),
    ]
