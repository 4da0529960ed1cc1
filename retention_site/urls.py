from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from api.urls import token_patterns, v1_patterns

handler500 = "retention_site.database.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", include((v1_patterns, "api"), namespace="v1")),
    path("api/tokens/", include(token_patterns)),
    path("reasons/", include("reasons.urls")),
    path("outlook/", include("outlook.urls")),
    path("closing/", include("closing.urls")),
    path("", include("operations.urls")),
    path("", include("web.urls")),
]
