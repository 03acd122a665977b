# The queue at a million applications (docs/performance.md): an index for each of its filters, the
# warning instant inside the deadline index, and trigram indexes for its free-text search.

from django.db import migrations, models

# (name, column) of the search indexes. `icontains` compares UPPER(column::text) LIKE UPPER('%…%'),
# so the indexes are on that expression; pg_trgm lets a GIN index answer LIKE with a leading wildcard,
# and a term that matches nothing is found absent in the index instead of by reading the office's rows.
# Consumer: workflow.selectors.application_queue, filter `q`.
SEARCH_INDEXES = [
    ("queue_search_reference", "reference"),
    ("queue_search_full_name", "full_name"),
    ("queue_search_email", "email"),
]


def create_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in SEARCH_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON workflow_application USING gin (upper(({column})::text) gin_trgm_ops)"
        )


def drop_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _column in SEARCH_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ('workflow', '0008_aftercare'),
    ]

    operations = [
        migrations.RemoveIndex(model_name='application', name='queue_by_office_due'),
        migrations.RemoveIndex(model_name='application', name='queue_by_office_state'),
        migrations.AddIndex(
            model_name='application',
            index=models.Index(fields=['office', 'reply_due_at', 'id', 'reply_warn_at'], name='queue_by_office_due'),
        ),
        migrations.AddIndex(
            model_name='application',
            index=models.Index(
                fields=['office', 'state', 'reply_due_at', 'id', 'reply_warn_at'], name='queue_by_office_state'
            ),
        ),
        migrations.AddIndex(
            model_name='application',
            index=models.Index(
                fields=['office', 'assigned_to', 'reply_due_at', 'id', 'reply_warn_at'], name='queue_by_office_assignee'
            ),
        ),
        migrations.RunPython(create_search_indexes, drop_search_indexes, elidable=False),
    ]
