from django.contrib import admin
from django.utils.translation import pgettext_lazy

from madoguchi.privacy import audit

from .models import Article, ArticleVersion, BotRule


class VersionInline(admin.TabularInline):
    model = ArticleVersion
    extra = 0
    fields = readonly_fields = (
        "version",
        "question",
        "answer",
        "alt_questions",
        "public",
        "section",
        "kind",
        "tags",
        "edited_by",
        "at",
    )
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # versions are made by do_save_article


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("question", "lang", "topic", "kind", "public", "version")
    list_filter = ("lang", "kind", "public")
    search_fields = ("question", "answer", "topic", "external_id")
    inlines = [VersionInline]
    readonly_fields = ("version", "updated_at")

    def save_model(self, request, obj, form, change):
        from .actions import do_save_article

        values = {
            f: getattr(obj, f)
            for f in (
                "external_id",
                "lang",
                "kind",
                "topic",
                "section",
                "question",
                "answer",
                "alt_questions",
                "public",
            )
        }
        # A changed article is updated in place, even when its topic or external id changed.
        saved, _what = do_save_article(
            values, acting_user=request.user, article=obj if change else None
        )
        obj.pk = saved.pk


@admin.register(BotRule)
class BotRuleAdmin(admin.ModelAdmin):
    """The bot's topic rules. Each pattern line is compiled on save (``BotRule.clean``);
    the bot picks the change up at its next question."""

    list_display = ("name", "order", "active", "link", "updated_at")
    list_editable = ("order", "active")
    list_filter = ("active",)
    readonly_fields = ("updated_at",)
    fieldsets = (
        (None, {"fields": ("name", "order", "active")}),
        (
            pgettext_lazy("bot rule", "Patterns"),
            {"fields": ("patterns_ja", "patterns_en", "exclude_ja", "exclude_en")},
        ),
        (
            pgettext_lazy("bot rule", "Reply"),
            {"fields": ("message_ja", "message_en", "link", "updated_at")},
        ),
    )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit.record("kb.bot_rule_saved", actor=request.user, rule=obj.name, active=obj.active)

    def delete_model(self, request, obj):
        audit.record("kb.bot_rule_deleted", actor=request.user, rule=obj.name)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for name in queryset.values_list("name", flat=True):
            audit.record("kb.bot_rule_deleted", actor=request.user, rule=name)
        super().delete_queryset(request, queryset)
