"""On PostgreSQL, the database itself refuses overlapping spans for one key.

SQLite has no exclusion constraints; there the invariant rests on tracker.ingest and the
one-open-span unique index (both backends), and the property tests check it on both.
"""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE tracker_pricespan ADD CONSTRAINT pricespan_no_overlap
    EXCLUDE USING gist (
        source_id WITH =, offering_id WITH =, meter WITH =, tier WITH =,
        tstzrange(valid_from, valid_to, '[)') WITH &&
    ) DEFERRABLE INITIALLY DEFERRED;
"""
DROP = "ALTER TABLE tracker_pricespan DROP CONSTRAINT IF EXISTS pricespan_no_overlap;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("tracker", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
