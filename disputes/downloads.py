"""Evidence files as downloads (the portal's page route and the API's share this)."""

from django.http import FileResponse, Http404

from disputes import files as evidence_files
from disputes.models import EvidenceItem
from solosales.core.errors import ApplicationError


def evidence_file_response(*, dispute, seq: int) -> FileResponse:
    """The stored file of evidence item ``seq`` of ``dispute`` (already checked visible to
    the caller) as a download that no browser renders; Http404 when there is none. Shared by the
    portal's route and the API's."""
    item = EvidenceItem.objects.filter(dispute=dispute, seq=seq).exclude(file_path="").first()
    if item is None:
        raise Http404
    try:
        handle = open(evidence_files.absolute_path(item), "rb")  # noqa: SIM115 (FileResponse closes it)
    except (OSError, ApplicationError):
        raise Http404
    response = FileResponse(
        handle, as_attachment=True, filename=item.file_name or f"evidence-{seq}", content_type=item.file_content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
