from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog, set_language

from madoguchi.chat.views import loader as chat_loader
from madoguchi.intake.api import api
from madoguchi.sla.views import schedule_calendar
from madoguchi.sso.views import logout
from madoguchi.web.throttle import (
    ThrottledAdminAuthenticationForm,
    ThrottledAuthenticationForm,
)
from madoguchi.web.views import favicon, healthz, livez

admin.site.site_header = "madoguchi"
admin.site.site_title = "madoguchi"
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon),
    path("livez", livez, name="livez"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="web/login.html", authentication_form=ThrottledAuthenticationForm
        ),
        name="login",
    ),
    path("accounts/logout/", logout, name="logout"),
    path("sso/", include("madoguchi.sso.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("console/kb/", include("madoguchi.kb.staff_urls")),
    path("console/", include("madoguchi.console.urls")),
    path("faq/", include("madoguchi.kb.urls")),
    path("chat/", include("madoguchi.chat.urls")),
    path("call/", include("madoguchi.calls.urls")),
    path("widget.js", chat_loader, name="chat-loader"),
    path("hours/<slug:name>.ics", schedule_calendar, name="schedule-calendar"),
    path("", include("madoguchi.intake.urls")),
]
