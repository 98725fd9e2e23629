# Reports (console.reports): the backlog's "open when the period began" and "solved per
# day" read ranges of solved_at instead of scanning everything received before.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("inquiries", "0010_retention_fields"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="inquiry",
            index=models.Index(fields=["solved_at"], name="inq_solved"),
        ),
    ]
