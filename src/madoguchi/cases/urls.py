from django.urls import path

from . import views

app_name = "cases"
urlpatterns = [
    path("", views.case_list, name="list"),
    path("start/<str:reference>/", views.start, name="start"),
    path("<int:pk>/", views.review, name="review"),
    path("<int:pk>/export.<str:fmt>", views.export, name="export"),
]
