from django.urls import path

from . import views

app_name = "reasons"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("cases/", views.case_list, name="cases"),
    path("cases/<int:pk>/", views.case_detail, name="case"),
    path("pareto/", views.pareto, name="pareto"),
    path("taxonomy/", views.taxonomy, name="taxonomy"),
    path("taxonomy/add/", views.taxonomy_edit, name="taxonomy_add"),
    path("taxonomy/<int:pk>/", views.taxonomy_edit, name="taxonomy_edit"),
    path("taxonomy/<int:pk>/active/", views.taxonomy_toggle, name="taxonomy_toggle"),
]
