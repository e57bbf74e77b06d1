"""``/api/v1/incidents``: search (JSON, GeoJSON), CSV export, read with ETag, create drafts,
correct with If-Match, confirm/reject, merge and split. Every read goes through the one
visibility filter (incidents.query.visible)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

import h3
from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from silkguard.api.audit import audit
from silkguard.api.deps import SessionDep, reading_session, require
from silkguard.api.problems import problem_responses
from silkguard.api.query import QueryModel, inline_refs
from silkguard.auth.roles import Permission
from silkguard.core.access import Principal
from silkguard.core.errors import InvalidInput
from silkguard.incidents import query as incidents_query
from silkguard.incidents import review as incidents_review
from silkguard.incidents import service as incidents_service
from silkguard.incidents.geojson import feature_collection
from silkguard.incidents.mapindex import MapIndex
from silkguard.incidents.models import Incident
from silkguard.incidents.schemas import (
    GeoJSONFeatureCollection,
    IncidentCreate,
    IncidentDetail,
    IncidentPage,
    IncidentRead,
    IncidentUpdate,
    IsoDateTime,
    MergeRequest,
    RejectRequest,
    SourceRecordRead,
    SplitRequest,
)
from silkguard.incidents.vocab import AttackType, IncidentStatus, TargetType

__all__ = ["router", "to_read"]

# Incident ids in paths use the `uuid` convertor: a path that is not a UUID is no route (404),
# and `/incidents/export.csv` is never taken for an incident id (PATCH on it is a 405).
router = APIRouter(prefix="/incidents", tags=["incidents"])
READ = Depends(require(Permission.INCIDENT_READ))
Reader = Annotated[Principal, READ]
Creator = Annotated[Principal, Depends(require(Permission.INCIDENT_CREATE))]
Editor = Annotated[Principal, Depends(require(Permission.INCIDENT_UPDATE))]
Reviewer = Annotated[Principal, Depends(require(Permission.INCIDENT_REVIEW))]
Merger = Annotated[Principal, Depends(require(Permission.INCIDENT_MERGE))]
Exporter = Annotated[Principal, Depends(require(Permission.INCIDENT_EXPORT))]
GEOJSON = "application/geo+json"
CSV_COLUMNS = (
    "id",
    "occurred_at",
    "date_precision",
    "latitude",
    "longitude",
    "geo_precision",
    "place",
    "district",
    "province",
    "attack_type",
    "target_type",
    "perpetrator",
    "claimed",
    "killed",
    "injured",
    "killed_foreign",
    "injured_foreign",
    "nationalities",
    "on_the_move",
    "status",
    "tlp",
    "summary",
)


def to_read(incident: Incident) -> IncidentRead:
    data = {name: getattr(incident, name) for name in IncidentRead.model_fields if name != "h3_r6"}
    data["h3_r6"] = h3.int_to_str(incident.h3_r6) if incident.h3_r6 is not None else None
    return IncidentRead.model_validate(data)


class SearchQuery(BaseModel):
    """The filters (query parameters) of search, GeoJSON and CSV export."""

    since: IsoDateTime | None = Field(
        None, description="Occurred at or after (ISO 8601 with zone)."
    )
    until: IsoDateTime | None = Field(None, description="Occurred before (ISO 8601 with zone).")
    bbox: str | None = Field(
        None, description="min_lon,min_lat,max_lon,max_lat", examples=["66.8,24.7,67.3,25.1"]
    )
    polygon: str | None = Field(
        None, description="A GeoJSON Polygon/MultiPolygon (lon/lat).", max_length=200_000
    )
    h3_cell: str | None = Field(None, alias="h3", description="An H3 cell (resolution 0-8), hex.")
    province: str | None = Field(None, max_length=80)
    district: str | None = Field(None, max_length=120)
    attack_type: list[AttackType] | None = None
    target_type: list[TargetType] | None = None
    perpetrator: str | None = Field(None, max_length=200, description="Case-insensitive substring.")
    q: str | None = Field(
        None, max_length=200, description="Free text in summary, place, district, perpetrator."
    )
    status: list[IncidentStatus] | None = None


class SearchPageQuery(SearchQuery):
    """Search's query parameters: the filters and the page."""

    limit: int = Field(100, ge=1, le=1000, description="Page size.")
    cursor: str | None = Field(
        None, max_length=500, description="next_cursor of the previous page."
    )
    format: str | None = Field(
        None,
        pattern="^(json|geojson)$",
        description="`geojson`: a GeoJSON FeatureCollection (as `Accept: application/geo+json`).",
    )


# One dependency reads all of them (api.query): FastAPI's own per-parameter resolution cost
# more than a map search from memory. ``async``: FastAPI runs a plain function dependency in
# the thread pool, and that hop costs more than checking these parameters; only a polygon (up
# to 10,000 points, checked by GEOS) is parsed on a thread.
SEARCH_QUERY = QueryModel(SearchQuery)
SEARCH_PAGE_QUERY = QueryModel(SearchPageQuery)


async def _filters(query: SearchQuery) -> incidents_query.IncidentFilter:
    since, until = query.since, query.until
    if since is not None and until is not None and since >= until:
        msg = f"since ({since.isoformat()}) must be before until ({until.isoformat()})"
        raise InvalidInput(msg)
    box = incidents_query.parse_bbox(query.bbox) if query.bbox else None
    polygon = query.polygon
    shape = await run_in_threadpool(incidents_query.parse_polygon, polygon) if polygon else None
    return incidents_query.IncidentFilter(
        since=since,
        until=until,
        bbox=box,
        polygon=shape,
        h3_cell=incidents_query.parse_h3_cell(query.h3_cell) if query.h3_cell else None,
        province=query.province,
        district=query.district,
        attack_types=[a.value for a in query.attack_type or []],
        target_types=[t.value for t in query.target_type or []],
        perpetrator=query.perpetrator,
        text=query.q,
        statuses=[s.value for s in query.status or []],
    )


class SearchParams:
    """The filters of a request, and for search its page."""

    def __init__(
        self,
        filters: incidents_query.IncidentFilter,
        limit: int = 100,
        cursor: str | None = None,
        format: str | None = None,
    ) -> None:
        self.filters = filters
        self.limit = limit
        self.cursor = cursor
        self.format = format


async def search_params(request: Request) -> SearchParams:
    return SearchParams(await _filters(SEARCH_QUERY.parse(request)))


async def search_page_params(request: Request) -> SearchParams:
    query = SEARCH_PAGE_QUERY.parse(request)
    return SearchParams(await _filters(query), query.limit, query.cursor, query.format)


Search = Annotated[SearchParams, Depends(search_params)]
SearchPage = Annotated[SearchParams, Depends(search_page_params)]
ERRORS = problem_responses(401, 403, 422)


@router.get(
    "",
    summary="Search incidents",
    response_model=IncidentPage,
    responses={
        **ERRORS,
        200: {
            "content": {
                GEOJSON: {"schema": inline_refs(GeoJSONFeatureCollection.model_json_schema())}
            }
        },
    },
    openapi_extra={"parameters": SEARCH_PAGE_QUERY.openapi},
)
async def search_incidents(request: Request, principal: Reader, params: SearchPage) -> Any:
    """Newest first, with cursor pagination. `format=geojson` (or `Accept: application/geo+json`)
    returns a GeoJSON FeatureCollection."""
    limit, cursor = params.limit, params.cursor
    wants_geojson = params.format == "geojson" or (
        params.format is None and GEOJSON in request.headers.get("accept", "")
    )
    if wants_geojson:
        # From the process's copy when it is current and can answer (incidents.mapindex, as of
        # the counters authentication read): no I/O, so here on the event loop, without a hop
        # to the thread pool. The server's copy makes copies and masks on its own thread and
        # never uses the session here.
        page = _from_copy(request, principal, params, limit, cursor)
        if page is not None:
            return Response(feature_collection(*page), media_type=GEOJSON)
    # no session dependency: a page from the copy needs none, and opening and closing one
    # costs about a tenth of such a search
    return await run_in_threadpool(
        _search_in_database, request, principal, params, limit, cursor, wants_geojson
    )


def _from_copy(
    request: Request,
    principal: Principal,
    params: SearchParams,
    limit: int,
    cursor: str | None,
) -> tuple[list[str], str | None] | None:
    """The page from the process's map copy (made at start-up, see api.app), if it can
    answer; it does no I/O (copies and masks are made on its own thread)."""
    index: MapIndex | None = request.app.state.map_index
    if index is None or not index.in_background:
        return None
    return index.search(
        None,
        counters=getattr(request.state, "counters", None),
        principal=principal,
        filters=params.filters,
        limit=limit,
        cursor=cursor,
    )


def _search_in_database(
    request: Request,
    principal: Principal,
    params: SearchParams,
    limit: int,
    cursor: str | None,
    wants_geojson: bool,
) -> Any:
    with reading_session(request) as session:
        if wants_geojson:
            # the stored Feature texts, joined (the same bytes as GeoJSONFeatureCollection's
            # JSON)
            page = incidents_query.search_features(
                session, principal=principal, filters=params.filters, limit=limit, cursor=cursor
            )
            return Response(feature_collection(*page), media_type=GEOJSON)
        items, next_cursor = incidents_query.search(
            session, principal=principal, filters=params.filters, limit=limit, cursor=cursor
        )
        return IncidentPage(items=[to_read(i) for i in items], next_cursor=next_cursor)


@router.get(
    "/export.csv",
    summary="Export incidents as CSV",
    response_class=StreamingResponse,
    responses={**ERRORS, 200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
    openapi_extra={"parameters": SEARCH_QUERY.openapi},
)
def export_csv(session: SessionDep, principal: Exporter, params: Search) -> StreamingResponse:
    """Every visible incident that matches the filters, one row each (streamed)."""

    def rows() -> Iterator[str]:
        buf = io.StringIO()
        out = csv.writer(buf)
        out.writerow(CSV_COLUMNS)
        for inc in incidents_query.iter_visible(
            session, principal=principal, filters=params.filters
        ):
            data = to_read(inc).model_dump(mode="json")
            data["nationalities"] = ";".join(data["nationalities"])
            out.writerow(["" if data[c] is None else data[c] for c in CSV_COLUMNS])
            if buf.tell() > 64_000:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()

    stamp = datetime.now().astimezone().strftime("%Y%m%d")
    return StreamingResponse(
        rows(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="incidents-{stamp}.csv"'},
    )


def _detail(session: SessionDep, incident: Incident) -> IncidentDetail:
    exp = incidents_service.explain(session, incident_id=incident.id)
    base = to_read(exp.incident).model_dump()
    return IncidentDetail(
        **base,
        sources=[SourceRecordRead.model_validate(r) for r in exp.incident.sources],
        conflicts={
            k: [{"source": s, "value": v} for s, v in vals] for k, vals in exp.conflicts.items()
        },
        overrides=exp.incident.overrides or {},
        review_note=exp.incident.review_note,
    )


def _etag(incident: Incident) -> str:
    return f'W/"{incident.version}"'


@router.get(
    "/{incident_id:uuid}",
    summary="Read one incident with its sources",
    response_model=IncidentDetail,
    responses=problem_responses(401, 403, 404, 422),
)
def read_incident(
    incident_id: uuid.UUID, session: SessionDep, principal: Reader, response: Response
) -> IncidentDetail:
    """The merged view, every source record with why it was merged, and the disagreements.
    The `ETag` header is the version to send back in `If-Match` when correcting it."""
    incident = incidents_query.get_visible(session, principal=principal, incident_id=incident_id)
    response.headers["ETag"] = _etag(incident)
    return _detail(session, incident)


@router.post(
    "",
    status_code=201,
    summary="Report an incident (draft)",
    response_model=IncidentDetail,
    responses=problem_responses(400, 401, 403, 422),
)
def create_incident(
    data: IncidentCreate,
    request: Request,
    session: SessionDep,
    principal: Creator,
    response: Response,
) -> IncidentDetail:
    """Stored as a draft owned by your organisation until an analyst confirms it."""
    incident = incidents_review.create_draft(session, principal=principal, data=data)
    audit(session, request, principal, "incident.create", incident.id, {"tlp": incident.tlp})
    detail = _detail(session, incident)
    session.commit()
    response.headers["ETag"] = _etag(incident)
    response.headers["Location"] = f"{request.url.path}/{incident.id}"
    return detail


@router.patch(
    "/{incident_id:uuid}",
    summary="Correct an incident",
    response_model=IncidentDetail,
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
def update_incident(
    incident_id: uuid.UUID,
    data: IncidentUpdate,
    request: Request,
    session: SessionDep,
    principal: Editor,
    response: Response,
    if_match: Annotated[str | None, Header(description='The ETag you read, e.g. W/"3".')] = None,
) -> IncidentDetail:
    """Only the fields sent change. A stale `If-Match` gets 409 and changes nothing."""
    incident, changes = incidents_review.update(
        session, principal=principal, incident_id=incident_id, data=data, if_match=if_match
    )
    audit(session, request, principal, "incident.update", incident.id, {"changes": changes})
    detail = _detail(session, incident)
    session.commit()
    response.headers["ETag"] = _etag(incident)
    return detail


def _transition(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Principal,
    incident: Incident,
    action: str,
    detail: dict[str, Any] | None = None,
) -> IncidentDetail:
    audit(session, request, principal, action, incident.id, detail or {})
    body = _detail(session, incident)
    session.commit()
    response.headers["ETag"] = _etag(incident)
    return body


@router.post(
    "/{incident_id:uuid}/confirm",
    summary="Confirm a draft",
    response_model=IncidentDetail,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def confirm_incident(
    incident_id: uuid.UUID,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Reviewer,
) -> IncidentDetail:
    """A reviewed report becomes a confirmed incident, visible under its TLP marking."""
    incident = incidents_review.confirm(session, principal=principal, incident_id=incident_id)
    return _transition(request, response, session, principal, incident, "incident.confirm")


@router.post(
    "/{incident_id:uuid}/reject",
    summary="Reject a report",
    response_model=IncidentDetail,
    responses=problem_responses(400, 401, 403, 404, 422),
)
def reject_incident(
    incident_id: uuid.UUID,
    data: RejectRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Reviewer,
) -> IncidentDetail:
    """Rejected incidents stay (with the reason) but only their organisation sees them."""
    incident = incidents_review.reject(
        session, principal=principal, incident_id=incident_id, reason=data.reason
    )
    return _transition(
        request, response, session, principal, incident, "incident.reject", {"reason": data.reason}
    )


@router.post(
    "/{incident_id:uuid}/merge",
    summary="Merge incidents into this one",
    response_model=IncidentDetail,
    responses=problem_responses(400, 401, 403, 404, 422),
)
def merge_incidents(
    incident_id: uuid.UUID,
    data: MergeRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Merger,
) -> IncidentDetail:
    """The source records of the listed incidents move here; the emptied incidents are deleted."""
    incident = incidents_review.merge(
        session, principal=principal, incident_id=incident_id, others=data.incident_ids
    )
    return _transition(
        request,
        response,
        session,
        principal,
        incident,
        "incident.merge",
        {"merged": [str(i) for i in data.incident_ids]},
    )


@router.post(
    "/{incident_id:uuid}/split",
    summary="Split source records off into a new incident",
    status_code=201,
    response_model=IncidentDetail,
    responses=problem_responses(400, 401, 403, 404, 422),
)
def split_incident(
    incident_id: uuid.UUID,
    data: SplitRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Merger,
) -> IncidentDetail:
    """Returns the new incident; the original keeps its other records."""
    fresh = incidents_review.split(
        session, principal=principal, incident_id=incident_id, record_ids=data.source_record_ids
    )
    return _transition(
        request,
        response,
        session,
        principal,
        fresh,
        "incident.split",
        {"from": str(incident_id), "records": [str(r) for r in data.source_record_ids]},
    )
