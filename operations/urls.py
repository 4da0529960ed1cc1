from django.urls import path

from . import import_views

app_name = "operations"

urlpatterns = [
    path("imports/", import_views.imports, name="imports"),
    path("imports/<int:pk>/", import_views.import_run, name="import"),
    path("imports/<int:pk>/progress/", import_views.import_progress, name="import_progress"),
    path("imports/<int:pk>/apply/", import_views.import_apply, name="import_apply"),
    path("imports/<int:pk>/discard/", import_views.import_discard, name="import_discard"),
    path("imports/<int:pk>/files/<str:name>", import_views.import_file, name="import_file"),
]
