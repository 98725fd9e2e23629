"""Sending a stored attachment: always as a download, never rendered by the browser."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, Http404

from madoguchi.inquiries import storage


def attachment_response(attachment: Any) -> FileResponse:
    """The caller has checked access (``access.access_attachment`` and its kin)."""
    try:
        handle = open(storage.path_of(attachment.stored_name), "rb")  # noqa: SIM115
    except (OSError, ValueError):
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name,
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
