# Reports (console.reports): the chats of a period.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0002_faculty_only_from_lane"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(fields=["created_at"], name="chat_created"),
        ),
    ]
