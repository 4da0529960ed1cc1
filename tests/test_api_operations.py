"""Book moves and import runs through the API (issue 11, point 6): the pages' rules, the same code."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from metrics.models import Assignment, Customer, PendingRecompute
from operations import imports
from operations.models import ImportRun, ImportStatus
from tests.test_import import BASE
from tests.web_support import build_company

pytestmark = pytest.mark.django_db


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def move(world, **changes) -> dict:
    return {"from_user": "ann@example.com", "role": "csm", "to_user": "cid@example.com", "start_date": "2026-03-01", **changes}


def ann_csm():
    return sorted(Assignment.objects.filter(role="csm", customer__name__in=["Acme", "Beta"]).values_list("customer__name", "user__email", "start_date", "end_date"))


def test_a_dry_run_answers_what_moves_and_writes_nothing_then_the_move_is_made():
    world = build_company()
    admin = as_user(world["admin"])
    before = ann_csm()
    response = admin.post("/api/v1/book-moves/", move(world, dry_run=True), format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["dry_run"] is True and body["accounts"] == 2
    assert [(m["customer"], m["start"], m["end"], m["ends_on"], m["new_start"]) for m in body["moves"]] == [
        ("Acme", "2025-01-01", None, "2026-02-28", "2026-03-01"), ("Beta", "2025-01-01", None, "2026-02-28", "2026-03-01")]
    assert ann_csm() == before and not PendingRecompute.objects.exists()

    expected = [m["assignment_id"] for m in body["moves"]]
    response = admin.post("/api/v1/book-moves/", move(world, expected=expected), format="json")
    assert response.status_code == 201, response.content
    assert ann_csm() == [("Acme", "ann@example.com", date(2025, 1, 1), date(2026, 2, 28)), ("Acme", "cid@example.com", date(2026, 3, 1), None),
                         ("Beta", "ann@example.com", date(2025, 1, 1), date(2026, 2, 28)), ("Beta", "cid@example.com", date(2026, 3, 1), None)]
    assert set(PendingRecompute.objects.values_list("customer_id", flat=True)) == {world["acme"].pk, world["beta"].pk}
    history = Assignment.history.filter(customer=world["acme"], role="csm").latest("history_id")
    assert history.history_user == world["admin"] and "Book move" in history.history_change_reason


def test_a_move_confirmed_against_a_stale_dry_run_is_refused_and_nothing_moves():
    world = build_company()
    before = ann_csm()
    response = as_user(world["admin"]).post("/api/v1/book-moves/", move(world, expected=[999999]), format="json")
    assert response.status_code == 409
    assert ann_csm() == before


def test_book_moves_follow_the_pages_role_rules():
    world = build_company()
    for who in ("ann", "executive"):
        assert as_user(world[who]).post("/api/v1/book-moves/", move(world, dry_run=True), format="json").status_code == 403
    assert APIClient().post("/api/v1/book-moves/", move(world, dry_run=True), format="json").status_code == 401
    # Lena leads CS East (Ann, Cid): she may move between them, not to Bob of CS West.
    lena = as_user(world["lead"])
    assert lena.post("/api/v1/book-moves/", move(world, dry_run=True), format="json").status_code == 200
    refused = lena.post("/api/v1/book-moves/", move(world, to_user="bob@example.com", dry_run=True), format="json")
    assert refused.status_code == 400 and "to_user" in refused.json()
    bad = as_user(world["admin"]).post("/api/v1/book-moves/", move(world, to_user="ann@example.com"), format="json")
    assert bad.status_code == 400 and bad.json() == {"non_field_errors": ["Choose two different people."]}


def upload(client, files: dict[str, str]):
    return client.post("/api/v1/import-runs/", {"files": [SimpleUploadedFile(n, t.encode()) for n, t in files.items()]}, format="multipart")


def test_an_import_is_uploaded_previewed_applied_and_kept_in_the_history():
    world = build_company(compute=False)
    admin = as_user(world["admin"])
    refused = upload(admin, {"clients.csv": "a\n"})
    assert refused.status_code == 400 and "clients.csv: not a file the import reads" in refused.json()["files"][0]
    response = upload(admin, BASE)
    assert response.status_code == 202, response.content
    run_id = response.json()["id"]
    assert response.json()["status"] == "previewing" and response.json()["created_by"] == "admin@example.com"
    imports.run_preview(run_id)  # what the worker does once the upload commits
    detail = admin.get(f"/api/v1/import-runs/{run_id}/").json()
    assert detail["status"] == "ready"
    assert detail["preview"]["counts"]["customers.csv"] == {"created": 2, "updated": 0, "unchanged": 0}
    assert not Customer.objects.filter(external_id="C-1").exists()
    files = {f["name"]: f for f in detail["files"]}
    assert admin.get(files["users.csv"]["download"]).content.decode() == BASE["users.csv"]

    started = admin.post(f"/api/v1/import-runs/{run_id}/apply/")
    assert started.status_code == 202 and started.json()["status"] == "applying"
    assert admin.post(f"/api/v1/import-runs/{run_id}/apply/").status_code == 409  # once
    imports.run_apply(run_id)
    assert Customer.objects.filter(external_id__in=["C-1", "C-2"]).count() == 2
    listed = admin.get("/api/v1/import-runs/").json()["results"]
    assert listed[0]["id"] == run_id and listed[0]["status"] == "applied"
    assert listed[0]["result"]["counts"]["contracts.csv"]["created"] == 3


def test_a_rejected_preview_says_where_and_cannot_be_applied_and_imports_are_for_admins_only():
    world = build_company(compute=False)
    admin = as_user(world["admin"])
    run_id = upload(admin, {"contracts.csv": BASE["contracts.csv"].replace("1200.5", "-1200.5")}).json()["id"]
    imports.run_preview(run_id)
    detail = admin.get(f"/api/v1/import-runs/{run_id}/").json()
    assert detail["status"] == "rejected" and detail["preview"]["error_count"] >= 1
    assert admin.post(f"/api/v1/import-runs/{run_id}/apply/").status_code == 409
    assert ImportRun.objects.get(pk=run_id).status == ImportStatus.REJECTED
    for who in ("lead", "ann", "executive"):
        client = as_user(world[who])
        assert client.get("/api/v1/import-runs/").status_code == 403
        assert client.get(f"/api/v1/import-runs/{run_id}/").status_code == 403
        assert client.post(f"/api/v1/import-runs/{run_id}/apply/").status_code == 403
        assert upload(client, BASE).status_code == 403
    assert admin.get("/api/v1/import-runs/999999/").status_code == 404
    assert ImportRun.objects.count() == 1


def test_the_schema_documents_book_moves_and_import_runs():
    world = build_company(compute=False)
    schema = as_user(world["executive"]).get("/api/v1/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert "post" in paths["/api/v1/book-moves/"]
    assert {"get", "post"} <= set(paths["/api/v1/import-runs/"])
    assert "post" in paths["/api/v1/import-runs/{id}/apply/"] and "post" in paths["/api/v1/import-runs/{id}/discard/"]
    assert "multipart/form-data" in paths["/api/v1/import-runs/"]["post"]["requestBody"]["content"]
