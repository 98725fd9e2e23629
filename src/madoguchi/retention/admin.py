from django.contrib import admin

from .models import RetentionRule, RetentionRun


@admin.register(RetentionRule)
class RetentionRuleAdmin(admin.ModelAdmin):
    list_display = ("__str__", "anonymise_after_days", "files_after_days")


@admin.register(RetentionRun)
class RetentionRunAdmin(admin.ModelAdmin):
    """What each run did; written by runs only."""

    list_display = ("started_at", "finished_at", "dry_run", "by", "counts")

    def has_add_permission(self, request):  # runs are started from the command or schedule
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
