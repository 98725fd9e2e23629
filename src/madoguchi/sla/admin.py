from django.contrib import admin

from .models import BusinessSchedule, ChannelHours, Entitlement, SlaPolicy, SlaTarget


@admin.register(BusinessSchedule)
class BusinessScheduleAdmin(admin.ModelAdmin):
    list_display = ("name", "label_ja", "label_en", "updated_at")
    readonly_fields = ("updated_at",)


@admin.register(ChannelHours)
class ChannelHoursAdmin(admin.ModelAdmin):
    list_display = ("channel", "schedule")


class SlaTargetInline(admin.TabularInline):
    model = SlaTarget
    extra = 0


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "order", "active", "schedule")
    list_editable = ("order", "active")
    inlines = [SlaTargetInline]


@admin.register(Entitlement)
class EntitlementAdmin(admin.ModelAdmin):
    list_display = ("audience", "channels", "note_ja")
