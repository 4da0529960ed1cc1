from django.urls import path

from . import views

app_name = "outlook"

urlpatterns = [
    path("renewals/", views.renewals, name="renewals"),
    path("customers/<int:customer_id>/risk/", views.mark_risk, name="mark_risk"),
    path("forecast/", views.forecast_accounts, name="forecast"),
    path("targets/", views.targets, name="targets"),
    path("cohorts/", views.cohorts, name="cohorts"),
    path("digest/", views.digest_preference, name="digest"),
]
