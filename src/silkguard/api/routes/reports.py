"""``/api/v1/reports``: situation reports as HTML or PDF documents, built from what the caller
may see (the dashboard's Reports page downloads them)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from silkguard.api.audit import audit
from silkguard.api.deps import SessionDep, require
from silkguard.api.problems import problem_responses
from silkguard.auth import service as auth_service
from silkguard.auth.roles import Permission
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.core.db import for_writing, read_only
from silkguard.reports import ReportFormat, build_sitrep, filename, make_period, render

__all__ = ["router"]

router = APIRouter(prefix="/reports", tags=["reports"], responses=problem_responses(403))
Reader = Annotated[Principal, Depends(require(Permission.REPORT_READ))]
_DOCUMENTS: dict[str, dict[str, object]] = {
    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
    "text/html": {"schema": {"type": "string"}},
}


@router.get(
    "/sitrep",
    summary="A situation report for a period, as a PDF or HTML document",
    description=(
        "Incidents, killed and wounded, threat-level changes, movements, alerts and roll-call "
        "in the period (whole days in Pakistan time, at most 366), charts and a map, and the "
        "top risks of the latest forecast: all as the caller may see them. The document comes "
        "as an attachment named `sitrep-FROM-TO.pdf` (or `.html`); HTML is self-contained. "
        "Each report is recorded in the audit trail."
    ),
    response_class=Response,
    responses={
        200: {
            "description": "The report",
            "content": _DOCUMENTS,
            "headers": {
                "Content-Disposition": {
                    "description": 'attachment; filename="sitrep-FROM-TO.EXT"',
                    "schema": {"type": "string"},
                }
            },
        },
        **problem_responses(400, 422),
    },
)
def sitrep(
    session: SessionDep,
    principal: Reader,
    request: Request,
    first: Annotated[
        date,
        Query(
            alias="from",
            description="First day of the period (YYYY-MM-DD, Pakistan time).",
            examples=["2024-03-01"],
        ),
    ],
    last: Annotated[
        date,
        Query(
            alias="to",
            description="Last day of the period, included (YYYY-MM-DD, Pakistan time).",
            examples=["2024-03-31"],
        ),
    ],
    format: Annotated[
        ReportFormat, Query(description="`pdf` or `html`.", examples=["pdf"])
    ] = ReportFormat.PDF,
) -> Response:
    period = make_period(first, last)
    read_only(session)
    org = auth_service.get_org(session, org_id=principal.org_id)
    report = build_sitrep(
        session,
        principal=principal,
        period=period,
        now=utcnow(),
        reader=f"{org.name} ({principal.role})",
    )
    session.commit()  # end the read; the audit entry is its own short write
    body = render(report, format)
    name = filename(report, format)
    summary = report.summary
    for_writing(session)  # GET sessions read only; the audit entry is a write
    audit(
        session,
        request,
        principal,
        "report.sitrep",
        name,
        {
            "from": period.first.isoformat(),
            "to": period.last.isoformat(),
            "format": format.value,
            "incidents": summary.incidents,
            "movements": summary.movements,
            "alerts": summary.alerts,
        },
        object_type="report",
    )
    session.commit()
    return Response(
        body,
        media_type=format.media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
