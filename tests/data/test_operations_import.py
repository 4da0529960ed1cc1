"""The browser import (issue 11, point 1): a dry run that says what the files would do, the
same errors as the command, then the all-or-nothing apply and the history."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role, User
from metrics.models import ContractLine, Customer, PendingRecompute
from operations import imports
from operations.models import ImportFile, ImportRun, ImportStatus
from tests.import_support import BASE, changed
from tests.web_support import PASSWORD

pytestmark = pytest.mark.django_db


def make_run(files, user=None) -> ImportRun:
    run = ImportRun.objects.create(created_by=user)
    for name, text in files.items():
        data = text.encode()
        ImportFile.objects.create(run=run, name=name, size=len(data), content=data)
    return run


def test_preview_of_clean_files_counts_what_they_would_create_and_saves_nothing():
    run = make_run(BASE)
    imports.run_preview(run.pk)
    run.refresh_from_db()
    assert run.status == ImportStatus.READY
    assert run.preview["counts"]["customers.csv"] == {"created": 2, "updated": 0, "unchanged": 0}
    assert run.preview["counts"]["contracts.csv"] == {"created": 3, "updated": 0, "unchanged": 0}
    assert run.preview["counts"]["assignments.csv"] == {"created": 4, "updated": 0, "unchanged": 0}
    assert run.preview["samples"]["customers.csv"]["created"] == ["C-1", "C-2"]
    assert not Customer.objects.exists() and not ContractLine.objects.exists()
    assert not PendingRecompute.objects.exists()


def test_preview_shows_old_and_new_values_and_apply_writes_exactly_that():
    imports.run_apply(make_run(BASE).pk)
    assert ContractLine.objects.count() == 3
    files = changed(
        "contracts.csv", 'L-1,C-1,Core,2024-01-01,2024-12-31,"1,234.50",', "L-1,C-1,Core,2024-01-01,2025-03-31,1500,"
    )
    files = changed("customers.csv", "C-2,Beta,SMB", "C-2,Beta Labs,SMB", files)
    run = make_run(files)
    imports.run_preview(run.pk)
    run.refresh_from_db()
    assert run.status == ImportStatus.READY
    assert run.preview["counts"]["contracts.csv"] == {"created": 0, "updated": 1, "unchanged": 2}
    assert run.preview["counts"]["customers.csv"] == {"created": 0, "updated": 1, "unchanged": 1}
    assert run.preview["samples"]["contracts.csv"]["updated"] == [
        {"key": "L-1", "changes": [["end_date", "2024-12-31", "2025-03-31"], ["arr", "1234.50", "1500.00"]]}
    ]
    assert run.preview["samples"]["customers.csv"]["updated"] == [
        {"key": "C-2", "changes": [["name", "Beta", "Beta Labs"]]}
    ]
    assert ContractLine.objects.get(external_id="L-1").arr == 1234.5  # a preview changes nothing

    PendingRecompute.objects.all().delete()
    run.status = ImportStatus.APPLYING
    run.save()
    imports.run_apply(run.pk)
    run.refresh_from_db()
    assert run.status == ImportStatus.APPLIED
    assert run.result["counts"]["contracts.csv"] == run.preview["counts"]["contracts.csv"]
    assert str(ContractLine.objects.get(external_id="L-1").arr) == "1500.00"
    assert PendingRecompute.objects.exists()  # the recompute is queued, not run


def test_preview_errors_are_the_commands_errors_by_file_line_and_column():
    files = changed("contracts.csv", "L-3,C-2,Core,2024-02-01,,1200.5,usd", "L-3,C-9,Core,2024-02-01,,-5,usd")
    run = make_run(files)
    imports.run_preview(run.pk)
    run.refresh_from_db()
    assert run.status == ImportStatus.REJECTED
    errors = {(e["file"], e["line"], e["column"]): e["message"] for e in run.preview["errors"]}
    assert errors[("contracts.csv", 4, "arr")] == "ARR cannot be negative (-5)"
    assert not Customer.objects.exists()


def test_apply_is_all_or_nothing_when_the_database_changed_since_the_preview():
    run = make_run(BASE)
    imports.run_preview(run.pk)
    # Meanwhile someone gives C-1 a CSM that overlaps the file's: the apply is refused whole.
    imports.run_apply(
        make_run(
            {
                "customers.csv": BASE["customers.csv"],
                "users.csv": BASE["users.csv"],
                "teams.csv": BASE["teams.csv"],
                "assignments.csv": "customer_external_id,email,role,start_date\nC-1,am@example.com,csm,2023-01-01\n",
            }
        ).pk
    )
    ContractLine.objects.all().delete()
    imports.run_apply(run.pk)
    run.refresh_from_db()
    assert run.status == ImportStatus.FAILED
    assert any(e["file"] == "assignments.csv" and e["column"] == "start_date" for e in run.result["errors"])
    assert not ContractLine.objects.exists()


def test_only_admins_open_the_import_pages(client: Client):
    for role in (Role.EXECUTIVE, Role.LEAD, Role.MEMBER):
        user = User.objects.create_user(f"{role}@example.com", PASSWORD, role=role)
        client.force_login(user)
        assert client.get(reverse("operations:imports")).status_code == 403
    run = make_run(BASE)
    assert client.get(reverse("operations:import_file", args=[run.pk, "users.csv"])).status_code == 403
    admin = User.objects.create_user("admin@example.com", PASSWORD, role=Role.ADMIN)
    client.force_login(admin)
    assert client.get(reverse("operations:imports")).status_code == 200
    download = client.get(reverse("operations:import_file", args=[run.pk, "users.csv"]))
    assert download.content.decode() == BASE["users.csv"]


def test_upload_refuses_files_the_import_does_not_read(client: Client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(User.objects.create_user("admin@example.com", PASSWORD, role=Role.ADMIN))
    response = client.post(reverse("operations:imports"), {"files": [SimpleUploadedFile("clients.csv", b"a,b\n")]})
    assert response.status_code == 200
    assert "clients.csv: not a file the import reads" in response.content.decode()
    assert not ImportRun.objects.exists()
