from django.urls import path

from . import book_views, customer_views, edit_views, import_views, people_views

app_name = "operations"

urlpatterns = [
    path("customers/", customer_views.customers, name="customers"),
    path("customers/<int:pk>/", customer_views.customer, name="customer"),
    path("customers/<int:pk>/assign/", book_views.assign, name="assign"),
    path("customers/<int:pk>/edit/", edit_views.customer_edit, name="customer_edit"),
    path("customers/<int:pk>/lines/add/", edit_views.line_add, name="line_add"),
    path("customers/<int:pk>/lines/<int:line_pk>/", edit_views.line_edit, name="line_edit"),
    path("customers/<int:pk>/assignments/<int:assignment_pk>/", edit_views.assignment_edit, name="assignment_edit"),
    path("manage/books/", book_views.books, name="books"),
    path("manage/people/", people_views.people, name="people"),
    path("manage/people/<int:pk>/", people_views.person, name="person"),
    path("manage/teams/", people_views.teams, name="teams"),
    path("manage/teams/<int:pk>/", people_views.team_edit, name="team_edit"),
    path("manage/imports/", import_views.imports, name="imports"),
    path("manage/imports/<int:pk>/", import_views.import_run, name="import"),
    path("manage/imports/<int:pk>/progress/", import_views.import_progress, name="import_progress"),
    path("manage/imports/<int:pk>/apply/", import_views.import_apply, name="import_apply"),
    path("manage/imports/<int:pk>/discard/", import_views.import_discard, name="import_discard"),
    path("manage/imports/<int:pk>/files/<str:name>", import_views.import_file, name="import_file"),
]
