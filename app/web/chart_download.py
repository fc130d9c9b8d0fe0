"""A chart as a downloaded PNG or SVG, rendered on the server by app.reports.export: one answer
for the analytics dashboard and the A/B results page."""

from __future__ import annotations

from flask import Response, current_app, render_template, request

from app import reports
from app.envelope import error_response
from app.extensions import db


def image_response(figure: dict, fmt: str, filename: str):
    """The figure (a builder's figure dict, validated by chart_export as a go.Figure) as an
    attachment, or a 503 (page or JSON) saying why it cannot be made."""
    # Hand the database connection back before waiting on the browser (up to the timeout).
    db.session.close()
    try:
        image = reports.to_image(
            figure,
            fmt,
            current_app.config["CHART_BROWSER_PATH"],
            current_app.config["CHART_EXPORT_TIMEOUT"],
        )
    except reports.ExportUnavailable as exc:
        return unavailable(exc.message)
    return Response(
        image,
        mimetype=reports.FORMATS[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",  # the numbers change with every send
        },
    )


def unavailable(message: str):
    if request.accept_mimetypes.best == "application/json":
        return error_response(503, "export_unavailable", message)
    return render_template("errors/generic.html", status=503, message=message), 503
