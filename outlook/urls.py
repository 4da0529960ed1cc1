from django.urls import path

from . import views

app_name = "outlook"

urlpatterns = [
    path("renewals/", views.renewals, name="renewals"),
]
