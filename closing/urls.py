from django.urls import path

from . import views

app_name = "closing"

urlpatterns = [
    path("", views.close_list, name="list"),
    path("close/", views.close, name="close"),
    path("<int:pk>/", views.report, name="report"),
    path("<int:pk>/reopen/", views.reopen, name="reopen"),
]
