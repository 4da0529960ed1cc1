from django.contrib.auth.decorators import login_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from outlook.api import RenewalViewSet, RiskMarkViewSet, TargetViewSet
from closing.api import CloseViewSet
from operations.api import BookMoveViewSet, ImportRunViewSet

from . import pages, views

router = DefaultRouter()
router.include_root_view = False
router.register("retention", views.RetentionViewSet, basename="retention")
router.register("movements", views.MovementViewSet, basename="movements")
router.register("customers", views.CustomerViewSet, basename="customers")
router.register("contract-lines", views.ContractLineViewSet, basename="contract-lines")
router.register("assignments", views.AssignmentViewSet, basename="assignments")
router.register("fx-rates", views.FxRateViewSet, basename="fx-rates")
router.register("teams", views.TeamViewSet, basename="teams")
router.register("users", views.UserViewSet, basename="users")
router.register("churn-cases", views.ChurnCaseViewSet, basename="churn-cases")
router.register("reasons", views.ReasonViewSet, basename="reasons")
router.register("pareto", views.ParetoViewSet, basename="pareto")
router.register("renewals", RenewalViewSet, basename="renewals")
router.register("risk-marks", RiskMarkViewSet, basename="risk-marks")
router.register("targets", TargetViewSet, basename="targets")
router.register("closes", CloseViewSet, basename="closes")
router.register("book-moves", BookMoveViewSet, basename="book-moves")
router.register("import-runs", ImportRunViewSet, basename="import-runs")

# Mounted at /api/v1/ in the "v1" namespace (NamespaceVersioning reads the version from it).
v1_patterns = [
    *router.urls,
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The docs pages send an anonymous browser to sign in; the schema answers it 401.
    path("docs/", login_required(SpectacularSwaggerView.as_view(url_name="schema")), name="docs"),
    path("redoc/", login_required(SpectacularRedocView.as_view(url_name="schema")), name="redoc"),
]

# Mounted at /api/tokens/.
token_patterns = [
    path("", pages.tokens, name="api-tokens"),
    path("<int:token_id>/revoke/", pages.revoke, name="api-token-revoke"),
]
