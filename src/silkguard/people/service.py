"""Sites: create, list and find, always through the one visibility rule."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from silkguard.core.access import Principal, visible_clause
from silkguard.core.errors import Conflict, InvalidInput, NotFound
from silkguard.core.tlp import TLP, parse_tlp
from silkguard.geo.cells import cells_for
from silkguard.geo.gazetteer import load_gazetteer
from silkguard.people.models import Site, SiteKind

__all__ = ["create_site", "get_site", "get_sites", "resolve_site", "site_visible"]

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
MAX_HEADCOUNT = 1_000_000


def site_visible(principal: Principal) -> ColumnElement[bool]:
    """Which sites ``principal`` may see (organisation + TLP + no sharing groups yet)."""
    return visible_clause(principal, org_col=Site.org_id, tlp_col=Site.tlp)


def create_site(
    session: Session,
    *,
    org_id: uuid.UUID,
    slug: str,
    name: str,
    kind: str,
    latitude: float,
    longitude: float,
    headcount: int = 0,
    criticality: int = 3,
    perimeter_radius_m: float = 500.0,
    perimeter: dict[str, Any] | None = None,
    tlp: str = TLP.AMBER.value,
) -> Site:
    """Add a site; its province and district come from the offline gazetteer."""
    if not _SLUG.match(slug):
        msg = f"site slug {slug!r} must be 2-64 lowercase letters, digits or '-', e.g. 'dasu-hpp'"
        raise InvalidInput(msg)
    try:
        kind_value = SiteKind(kind).value
    except ValueError:
        accepted = ", ".join(k.value for k in SiteKind)
        msg = f"site kind {kind!r} is not known; use one of {accepted}"
        raise InvalidInput(msg) from None
    if not 1 <= criticality <= 5:
        msg = f"site criticality {criticality} must be 1 (low) to 5 (critical)"
        raise InvalidInput(msg)
    if not 0 <= headcount <= MAX_HEADCOUNT:
        msg = f"site headcount {headcount} must be between 0 and {MAX_HEADCOUNT}"
        raise InvalidInput(msg)
    if not 0 < perimeter_radius_m <= 50_000:
        msg = f"site perimeter radius {perimeter_radius_m} m must be above 0 and at most 50 km"
        raise InvalidInput(msg)
    cells = cells_for(latitude, longitude)  # validates the coordinates
    exists = session.execute(
        select(Site.id).where(Site.org_id == org_id, Site.slug == slug)
    ).scalar_one_or_none()
    if exists is not None:
        msg = f"your organisation already has a site {slug!r}; choose another slug"
        raise Conflict(msg)
    area = load_gazetteer().reverse(latitude, longitude)
    site = Site(
        org_id=org_id,
        slug=slug,
        name=name,
        kind=kind_value,
        latitude=latitude,
        longitude=longitude,
        h3_r6=cells[6],
        province=area.province,
        district=area.district,
        perimeter_radius_m=perimeter_radius_m,
        perimeter=perimeter,
        headcount=headcount,
        criticality=criticality,
        tlp=parse_tlp(tlp).value,
    )
    session.add(site)
    session.flush()
    return site


def get_sites(session: Session, *, principal: Principal | None = None) -> Sequence[Site]:
    """Sites ordered by name: those ``principal`` may see, or all (trusted callers, jobs)."""
    stmt = select(Site).order_by(Site.name, Site.id)
    if principal is not None:
        stmt = stmt.where(site_visible(principal))
    return session.execute(stmt).scalars().all()


def get_site(session: Session, *, principal: Principal, site_id: uuid.UUID) -> Site:
    site = session.execute(
        select(Site).where(Site.id == site_id, site_visible(principal))
    ).scalar_one_or_none()
    if site is None:
        msg = f"site {site_id} does not exist or is not shared with your organisation"
        raise NotFound(msg)
    return site


def resolve_site(session: Session, *, ref: str, principal: Principal | None = None) -> Site:
    """A site by id or slug (a slug shared by two organisations is ambiguous)."""
    stmt = select(Site)
    if principal is not None:
        stmt = stmt.where(site_visible(principal))
    try:
        stmt = stmt.where(Site.id == uuid.UUID(ref))
    except ValueError:
        stmt = stmt.where(Site.slug == ref.strip().lower())
    found = session.execute(stmt).scalars().all()
    if not found:
        msg = f"no site {ref!r}; list them with `silkguard risk explain` or GET /api/v1/sites"
        raise NotFound(msg)
    if len(found) > 1:
        msg = f"site slug {ref!r} is used by {len(found)} organisations; give the site id"
        raise InvalidInput(msg)
    return found[0]
