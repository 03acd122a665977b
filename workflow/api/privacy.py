"""Data protection in the API (SPEC §9, §11): a manager exports everything about a patient, or erases it."""

from __future__ import annotations

import tempfile
from typing import Any

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from security import access_log
from workflow.api.views import StaffView, errors, validated
from workflow.services import privacy, privacy_export

# Exports above this spill from memory to a temporary file on disk (documents can be large).
SPOOL_BYTES = 8 * 1024 * 1024


class EraseInputSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(
        max_length=2000,
        help_text="Why the data is erased (e.g. the patient's request and its date); kept in the history, so "
        "without the patient's name, email or phone.",
    )
    confirm = serializers.CharField(max_length=40, help_text="The application's reference, typed again to confirm.")


class EraseResultSerializer(serializers.Serializer[Any]):
    reference = serializers.CharField()
    state = serializers.CharField(help_text="Unchanged by the erasure.")
    erased_at = serializers.DateTimeField()


class ExportView(StaffView):
    access_log_what = "export"

    @extend_schema(
        operation_id="applications_export",
        summary="Export everything about the patient as one ZIP (managers of the office)",
        description="`manifest.json` (the application, messages, history with parameters, emails as rendered "
        "with their delivery status, schedule, quotes, consent signatures, aftercare and every version of "
        "every questionnaire answer, access-log entries) and the files: uploaded records, signed consent "
        "PDFs and scans, email attachments. A file missing from storage is listed in `missing_files`.",
        responses={
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The ZIP, as an attachment."),
            **errors(401, 403, 404),
        },
    )
    def get(self, request: Request, reference: str) -> FileResponse:
        application = self.lookup(reference)
        privacy_export.export_permitted(application, self.actor)
        # Before the manifest is built, so that the export lists its own reading too.
        access_log.record_read(request=request, application=application, what="export", channel=access_log.Channel.API)
        out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - FileResponse closes it
        privacy_export.application_export(application=application, actor=self.actor, out=out)
        out.seek(0)
        response = FileResponse(
            out, as_attachment=True, filename=f"{application.reference}-export.zip", content_type="application/zip"
        )
        response["Cache-Control"] = "no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class EraseView(StaffView):
    access_log_what = "erase"

    @extend_schema(
        operation_id="applications_erase",
        summary="Erase (pseudonymise) the patient's personal data everywhere it is stored (managers of the office)",
        description="States, dates, reply obligations, scores and the history stay, so reports keep their figures. "
        "409 `already_erased` when it was erased before (nothing changes), 409 `treatment_open` while the "
        "patient is admitted or an admission is scheduled.",
        request=EraseInputSerializer,
        responses={200: EraseResultSerializer, **errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, reference: str) -> Response:
        application = self.lookup(reference)
        # The role first: a coordinator learns they may not, not what the form would need.
        privacy.erase_permitted(application, self.actor)
        data = validated(EraseInputSerializer, request.data)
        erased = privacy.application_erase(application=application, actor=self.actor, **data)
        # A write, which the log's hook leaves to the history; an erasure is recorded in both.
        access_log.record_read(request=request, application=erased, what="erase", channel=access_log.Channel.API)
        return Response(EraseResultSerializer(erased).data)
