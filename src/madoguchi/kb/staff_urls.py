from django.urls import path

from . import staff_views as views

app_name = "kb_staff"
urlpatterns = [
    path("", views.articles, name="articles"),
    path("new/", views.article_new, name="new"),
    path("<int:pk>/edit/", views.article_edit, name="edit"),
    path("<int:pk>/versions/", views.article_versions, name="versions"),
    path("<int:pk>/versions/<int:version>/restore/", views.article_restore, name="restore"),
    path("unanswered/", views.unanswered, name="unanswered"),
    path("unanswered/teach/", views.teach, name="teach"),
    path("unanswered/dismiss/", views.dismiss, name="dismiss"),
    path("figures/", views.figures, name="figures"),
]
