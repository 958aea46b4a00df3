"""PostgreSQL half of the append-only ledger: a trigger refuses DELETE and any UPDATE that
changes a money column (the model guards the same on every database, SQLite included).
A no-op on SQLite."""

from django.db import migrations

IMMUTABLE = (
    "kind",
    "affiliate_id",
    "amount",
    "currency",
    "source_type",
    "source_id",
    "rule",
    "rate_bp",
    "base_amount",
    "base_currency",
    "fx_rate",
    "payment_id",
    "created_at",
)

CREATE = """
CREATE OR REPLACE FUNCTION commissions_entry_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'commission entries are append-only: DELETE of entry % refused', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF ({new}) IS DISTINCT FROM ({old}) THEN
        RAISE EXCEPTION 'commission entries are append-only: money columns of entry % cannot change', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER commissions_entry_append_only
BEFORE UPDATE OR DELETE ON commissions_commissionentry
FOR EACH ROW EXECUTE FUNCTION commissions_entry_append_only();
""".format(
    new=", ".join(f"NEW.{c}" for c in IMMUTABLE), old=", ".join(f"OLD.{c}" for c in IMMUTABLE)
)

DROP = """
DROP TRIGGER IF EXISTS commissions_entry_append_only ON commissions_commissionentry;
DROP FUNCTION IF EXISTS commissions_entry_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)  # the SQL has literal % (RAISE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("commissions", "0002_payments_events_rates")]

    operations = [migrations.RunPython(forwards, backwards)]
