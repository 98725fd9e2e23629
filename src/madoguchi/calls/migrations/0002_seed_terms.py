from django.db import migrations


def seed(apps, schema_editor):
    from madoguchi.calls.terms import default_terms

    CallTerms = apps.get_model("calls", "CallTerms")
    if not CallTerms.objects.exists():
        CallTerms.objects.create(version=1, **default_terms())


class Migration(migrations.Migration):
    dependencies = [("calls", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
