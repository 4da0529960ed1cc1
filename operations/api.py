"""REST API of the operations pages (issue 11, point 6): book moves and import runs, with the
pages' rules through the same code (``operations.books``, ``operations.imports``).

- ``POST /api/v1/book-moves/``: a whole book to another owner from a day; ``dry_run`` answers
  the preview and writes nothing. Admins, and leads between members of a team they lead.
- ``/api/v1/import-runs/``: the import history (list, detail), a new import (multipart upload of
  the CSV files: the dry-run preview starts as a task), ``apply`` and ``discard`` a clean
  preview, and each uploaded file back. Admins only.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from accounts.models import User
from api.serializers import EmailKeyField
from api.views import ApiViewSet, form_errors
from metrics.models import AssignmentRole
from metrics.scoping import visibility

from . import books, imports, runs
from .models import ImportFile, ImportRun

# --- book moves ---------------------------------------------------------------------------


class ChangesBooks(permissions.BasePermission):
    message = "Books are changed by admins and team leads."

    def has_permission(self, request, view):
        vis = visibility(request)
        return vis.is_admin or bool(vis.led_team_ids)


class BookMoveInput(serializers.Serializer):
    from_user = EmailKeyField(queryset=User.objects.all(), help_text="Email of the person whose accounts move.")
    role = serializers.ChoiceField(AssignmentRole.choices, help_text="The role in which they hold them: csm or am.")
    to_user = EmailKeyField(queryset=User.objects.all(), help_text="Email of the new owner (an active user).")
    start_date = serializers.DateField(help_text="The new owner's first day; the old assignments end the day before.")
    dry_run = serializers.BooleanField(default=False, help_text="true: answer what would move, write nothing.")
    expected = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        help_text="Optional: the assignment_id values of a dry run's moves. Given, the move is made only if the "
        "book is still exactly that (else 409 and nothing changes).",
    )


class MoveRowSerializer(serializers.Serializer):
    assignment_id = serializers.IntegerField()
    customer_id = serializers.IntegerField()
    customer = serializers.CharField(source="name")
    start = serializers.DateField(help_text="The assignment's first day as it is.")
    end = serializers.DateField(allow_null=True, help_text="Its last day as it is (null: open).")
    ends_on = serializers.DateField(allow_null=True, help_text="Its new last day (null: handed over whole).")
    new_start = serializers.DateField(help_text="The new owner's first day.")


class BookMoveSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    from_user = serializers.EmailField()
    to_user = serializers.EmailField()
    role = serializers.CharField()
    start_date = serializers.DateField()
    accounts = serializers.IntegerField(help_text="How many accounts move (or moved).")
    moves = MoveRowSerializer(many=True)


class BookMoveViewSet(ApiViewSet):
    """Move a whole book from a day, as one change (POST; ``dry_run`` for the preview)."""

    serializer_class = BookMoveSerializer
    permission_classes = [permissions.IsAuthenticated, ChangesBooks]
    filter_backends: list = []

    @extend_schema(
        request=BookMoveInput,
        responses={
            200: BookMoveSerializer,
            201: BookMoveSerializer,
            400: OpenApiResponse(description="Refused, with the reasons."),
            409: OpenApiResponse(description="The book changed since the dry run; nothing moved."),
        },
    )
    def create(self, request, *args, **kwargs):
        given = BookMoveInput(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        giver, taker, role, day = data["from_user"], data["to_user"], data["role"], data["start_date"]
        form = books.MoveForm(
            self.visibility, {"from_user": giver.pk, "role": role, "to_user": taker.pk, "start_date": day.isoformat()}
        )
        if not form.is_valid():
            errors = form_errors(form)
            for name in ("from_user", "to_user"):  # the form says "select a valid choice": say who
                if name in errors:
                    errors[name] = [
                        f"{data[name].email} is not someone whose accounts you may move (or who may receive them)."
                    ]
            raise ValidationError(errors)
        plan = form.cleaned_data["plan"]
        body = {
            "dry_run": data["dry_run"],
            "from_user": giver.email,
            "to_user": taker.email,
            "role": role,
            "start_date": day,
            "accounts": len(plan.customer_ids),
            "moves": books.preview_rows(plan, day),
        }
        if data["dry_run"]:
            return Response(BookMoveSerializer(body).data)
        expected = set(data["expected"]) if "expected" in data else None
        try:
            books.carry_out(plan, taker.pk, request.user, books.move_reason(giver, taker, role, day), expected=expected)
        except books.BookChanged:
            return Response(
                {"detail": "The book changed since the dry run; nothing moved. Run the dry run again."},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(BookMoveSerializer(body).data, status=status.HTTP_201_CREATED)


# --- import runs ------------------------------------------------------------------------


class AdminsOnly(permissions.BasePermission):
    message = "Imports are for admins."

    def has_permission(self, request, view):
        return visibility(request).is_admin


class ImportFileSerializer(serializers.ModelSerializer):
    download = serializers.SerializerMethodField(help_text="The file as uploaded.")

    class Meta:
        model = ImportFile
        fields = ["name", "size", "download"]

    def get_download(self, obj) -> str:
        url = reverse("v1:import-runs-file", args=[obj.run_id, obj.name])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class ImportRunSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="email", read_only=True)  # type: ignore[var-annotated]
    applied_by = serializers.SlugRelatedField(slug_field="email", read_only=True)  # type: ignore[var-annotated]
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    progress = serializers.SerializerMethodField(help_text="Percent done while the preview or the apply runs.")
    step = serializers.SerializerMethodField(help_text="What the running task is doing.")
    files = ImportFileSerializer(many=True, read_only=True)
    preview = serializers.JSONField(
        read_only=True,
        help_text="The dry run: {counts: {file: {created, updated, unchanged}}, samples: {file: {updated: [{key, changes: "
        "[[column, old, new]]}], created: [key]}}, errors: [{file, line, column, message, text}], error_count, warnings}.",
    )
    result = serializers.JSONField(read_only=True, help_text="Applying: {counts, changed, warnings}, or the errors.")

    class Meta:
        model = ImportRun
        fields = [
            "id",
            "status",
            "status_label",
            "running",
            "progress",
            "step",
            "created_by",
            "created_at",
            "files",
            "preview",
            "result",
            "applied_by",
            "applied_at",
            "finished_at",
        ]

    def get_progress(self, obj) -> int:
        return imports.progress_of(obj)[0]

    def get_step(self, obj) -> str:
        return imports.progress_of(obj)[1]


class ImportUploadSerializer(serializers.Serializer):
    files = serializers.ListField(
        child=serializers.FileField(),
        help_text="One or more of the import's CSV files, each named as the import reads it (customers.csv, contracts.csv, ...).",
    )


@extend_schema_view(
    create=extend_schema(request={"multipart/form-data": ImportUploadSerializer}, responses={202: ImportRunSerializer}),
    apply=extend_schema(
        request=None, responses={202: ImportRunSerializer, 409: OpenApiResponse(description="Not a clean preview.")}
    ),
    discard=extend_schema(
        request=None, responses={200: ImportRunSerializer, 409: OpenApiResponse(description="Not a clean preview.")}
    ),
    file=extend_schema(responses={(200, "text/csv"): OpenApiTypes.BINARY}),
)
class ImportRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """CSV imports: upload (the dry-run preview starts as a task), then apply or discard; the history."""

    serializer_class = ImportRunSerializer
    permission_classes = [permissions.IsAuthenticated, AdminsOnly]
    parser_classes = [MultiPartParser, FormParser]
    filter_backends: list = []

    def get_queryset(self):
        return ImportRun.objects.select_related("created_by", "applied_by").prefetch_related(
            Prefetch("files", queryset=ImportFile.objects.defer("content"))
        )

    def create(self, request, *args, **kwargs):
        uploaded = request.FILES.getlist("files")
        errors = imports.upload_errors([f.name for f in uploaded])
        if errors:
            raise ValidationError({"files": errors})
        run = runs.create_run(request.user, uploaded)
        return Response(self.get_serializer(self.get_queryset().get(pk=run.pk)).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["post"])
    def apply(self, request, *args, **kwargs):
        run = self.get_object()
        if not runs.start_apply(run.pk, request.user):
            return Response(
                {"detail": "This import cannot be applied: only a clean preview is applied, once."},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(self.get_serializer(self.get_queryset().get(pk=run.pk)).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["post"])
    def discard(self, request, *args, **kwargs):
        run = self.get_object()
        if not imports.discard(run.pk):
            return Response(
                {"detail": "Only a preview waiting to be applied can be discarded."}, status=status.HTTP_409_CONFLICT
            )
        return Response(self.get_serializer(self.get_queryset().get(pk=run.pk)).data)

    @action(detail=True, methods=["get"], url_path=r"files/(?P<name>[\w.-]+)", url_name="file")
    def file(self, request, *args, name: str = "", **kwargs):
        run = self.get_object()
        if kwargs.get("format"):  # "contracts.csv" without the trailing slash reads as a format suffix
            name = f"{name}.{kwargs['format']}"
        upload = ImportFile.objects.filter(run=run, name=name).first()
        if upload is None:
            raise Http404
        response = HttpResponse(bytes(upload.content), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{run.pk}-{upload.name}"'
        return response
