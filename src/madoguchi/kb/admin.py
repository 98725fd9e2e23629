from django.contrib import admin

from .models import Article, ArticleVersion


class VersionInline(admin.TabularInline):
    model = ArticleVersion
    extra = 0
    readonly_fields = ("version", "question", "answer", "public", "edited_by", "at")
    can_delete = False


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("question", "lang", "topic", "kind", "public", "version")
    list_filter = ("lang", "kind", "public")
    search_fields = ("question", "answer", "topic", "external_id")
    inlines = [VersionInline]
    readonly_fields = ("version", "updated_at")

    def save_model(self, request, obj, form, change):
        from .actions import do_save_article

        values = {f: getattr(obj, f) for f in ("external_id", "lang", "kind", "topic", "section", "question",
                                               "answer", "alt_questions", "public")}
        saved, _what = do_save_article(values, acting_user=request.user)
        obj.pk = saved.pk
