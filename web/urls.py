from django.contrib.auth import views as auth_views
from django.urls import path

from . import health, views

urlpatterns = [
    path("", views.home, name="home"),
    path("company/", views.company, name="company"),
    path("teams/<int:team_id>/", views.team, name="team"),
    path("owners/<int:user_id>/", views.owner, name="owner"),
    path("drilldown/", views.drilldown, name="drilldown"),
    path("help/figures/", views.figures_help, name="figures_help"),
    path("healthz", health.healthz, name="healthz"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
]
