from django.urls import path

from . import views

app_name = "stats"
urlpatterns = [
    path("", views.public_releases, name="releases"),
    path("<int:release_id>/", views.public_release, name="release"),
    path("<int:release_id>/csv/", views.public_csv, name="release-csv"),
    path("<int:release_id>/json/", views.public_json, name="release-json"),
]
