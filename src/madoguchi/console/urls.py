from django.urls import path

from madoguchi.calls import console_views as calls
from madoguchi.chat import console_views as chat
from madoguchi.retention import views as retention

from . import audit_views, report_views, views

app_name = "console"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("rows/", views.inbox_rows, name="inbox-rows"),
    path("i/<str:reference>/", views.detail, name="detail"),
    path("i/<str:reference>/thread/", views.detail_thread, name="detail-thread"),
    path("i/<str:reference>/do/<str:action>/", views.act, name="act"),
    path("files/<int:attachment_id>/", views.attachment, name="attachment"),
    path("files/<int:attachment_id>/inline/", views.inline_image, name="inline-image"),
    path("mail-review/", views.mail_review, name="mail-review"),
    path("reports/", report_views.reports, name="reports"),
    path("reports/report.json", report_views.report_json, name="reports-json"),
    path("reports/<slug:section>.csv", report_views.report_csv, name="reports-csv"),
    path("reports/sla/", views.sla_report, name="sla-report"),
    path("audit/", audit_views.audit_log, name="audit"),
    path("audit/export.csv", audit_views.audit_export, name="audit-export"),
    path("privacy/requester/", retention.requester_data, name="requester-data"),
    path("privacy/requester/export/", retention.requester_export, name="requester-export"),
    path("privacy/requester/erase/", retention.requester_erase, name="requester-erase"),
    path("chat/", views.live_panel, name="chat"),
    path("chat/queue/", chat.panel_fragment, name="chat-queue"),
    path("chat/availability/", chat.availability, name="chat-availability"),
    path("chat/<str:reference>/<str:action>/", chat.act, name="chat-act"),
    path("calls/queue/", calls.queue_fragment, name="call-queue"),
    path("calls/<str:reference>/", calls.call_page, name="call"),
    path("calls/<str:reference>/screenshot/", calls.store_screenshot, name="call-screenshot"),
    path("calls/<str:reference>/do/<str:action>/", calls.act, name="call-act"),
]
