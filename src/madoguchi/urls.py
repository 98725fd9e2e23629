from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog, set_language

from madoguchi.chat.views import loader as chat_loader
from madoguchi.intake.api import api
from madoguchi.sla.views import schedule_calendar
from madoguchi.sso.views import logout
from madoguchi.staffauth import views as staffauth_views
from madoguchi.web.throttle import ThrottledAdminAuthenticationForm
from madoguchi.web.views import favicon, healthz, livez

admin.site.site_header = "madoguchi"
admin.site.site_title = "madoguchi"
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon),
    path("livez", livez, name="livez"),
    path("api/v1/", api.urls),
    # The admin's sign-in has the console's steps (a code after the password): staffauth.views.
    path("admin/login/", staffauth_views.admin_login),
    path("admin/", admin.site.urls),
    path("accounts/login/", staffauth_views.StaffLoginView.as_view(), name="login"),
    path("accounts/logout/", logout, name="logout"),
    path("sso/", include("madoguchi.sso.urls")),
    path("accounts/", include("madoguchi.staffauth.urls")),
    path("accounts/password/reset/", staffauth_views.password_reset, name="password_reset"),
    path(
        "accounts/password/reset/sent/",
        staffauth_views.password_reset_done,
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        staffauth_views.password_reset_confirm,
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/",
        staffauth_views.password_reset_complete,
        name="password_reset_complete",
    ),
    path("i18n/setlang/", set_language, name="set_language"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("console/kb/", include("madoguchi.kb.staff_urls")),
    path("console/statistics/", include("madoguchi.stats.staff_urls")),
    path("console/cases/", include("madoguchi.cases.urls")),
    path("console/", include("madoguchi.console.urls")),
    path("faq/", include("madoguchi.kb.urls")),
    path("statistics/", include("madoguchi.stats.urls")),
    path("chat/", include("madoguchi.chat.urls")),
    path("call/", include("madoguchi.calls.urls")),
    path("widget.js", chat_loader, name="chat-loader"),
    path("hours/<slug:name>.ics", schedule_calendar, name="schedule-calendar"),
    path("", include("madoguchi.intake.urls")),
]
