"""``/api/v1/intake/reports``: a free-text incident report (sitrep, wire story, WhatsApp
message) read by the offline extractor and, when it reads as an incident, stored as a draft
for review with the fields found, the text supporting each, and possible duplicates."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from silkguard.api.deps import SessionDep, require
from silkguard.api.problems import problem_responses
from silkguard.auth.roles import Permission
from silkguard.core.access import Principal
from silkguard.core.tlp import TLP
from silkguard.intake.service import submit_report

__all__ = ["router"]

router = APIRouter(prefix="/intake", tags=["intake"], responses=problem_responses(403))
Creator = Annotated[Principal, Depends(require(Permission.INCIDENT_CREATE))]


class ReportIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "text": "1430L 12 MAR: IED strike on escort vehicle N-85 nr Panjgur. 2x FC "
                    "pers KIA, 3x WIA. No claim as of 1600L.",
                    "report_date": "2024-03-12",
                }
            ]
        },
    )
    text: Annotated[str, Field(min_length=1, max_length=100_000)]
    report_date: date = Field(
        description="The date the report was written, YYYY-MM-DD (resolves 'yesterday')"
    )
    tlp: TLP = TLP.AMBER
    force: Annotated[
        StrictBool,
        Field(description="Store a draft even when the text does not read as an incident"),
    ] = False

    @field_validator("report_date", mode="before")
    @classmethod
    def _a_date_string(cls, value: object) -> object:
        # pydantic would read 0 as 1970-01-01; a report date is written as YYYY-MM-DD
        if not isinstance(value, str | date):
            msg = "give the date as YYYY-MM-DD"
            raise ValueError(msg)
        return value


class ReportOut(BaseModel):
    stored: bool
    incident_id: str | None
    extraction: dict[str, Any]
    duplicates: list[dict[str, Any]]


@router.post(
    "/reports",
    summary="Read a free-text report; store it as a draft incident for review",
    responses={201: {"description": "Stored as a draft"}, **problem_responses(400, 413, 422)},
)
def submit(
    body: ReportIn, session: SessionDep, principal: Creator, response: Response
) -> ReportOut:
    result = submit_report(
        session,
        principal=principal,
        text=body.text,
        report_date=body.report_date,
        tlp=body.tlp,
        force=body.force,
    )
    out = ReportOut(
        stored=result.incident is not None,
        incident_id=None if result.incident is None else str(result.incident.id),
        extraction=result.draft.as_dict(),
        duplicates=result.duplicates,
    )
    if result.incident is not None:
        response.status_code = 201
        session.commit()
    return out
