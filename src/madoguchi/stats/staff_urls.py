from django.urls import path

from . import views

app_name = "stats_console"
urlpatterns = [
    path("", views.releases, name="releases"),
    path("<int:release_id>/", views.release, name="release"),
    path("<int:release_id>/publish/", views.publish, name="publish"),
]
