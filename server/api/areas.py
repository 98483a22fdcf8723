"""Protected areas, programs and locations."""
from __future__ import annotations

from sqlmodel import select

from ..auth import policy
from ..auth.permissions import current_user, load_in_area, require_admin, require_area, role_in_area, scope_query
from ..db import get_session
from ..models import Location, Program, ProtectedArea
from ..services import crud
from ..services import areas as area_service, programs as program_service
from .core import endpoint, paginate
from .schemas import (AreaIn, AreaOut, AreaPatch, AreaQuery, LocationIn, LocationOut, LocationPatch,
                      LocationQuery, ProgramIn, ProgramOut, ProgramPatch, ProgramQuery)


# ---- areas -------------------------------------------------------------------
@endpoint("/areas", summary="List protected areas you belong to", tags=["areas"], query=AreaQuery, response=AreaOut)
def list_areas(query: AreaQuery):
    stmt = scope_query(get_session(), select(ProtectedArea), ProtectedArea.id)
    if query.code:
        stmt = stmt.where(ProtectedArea.code == query.code)
    return paginate(get_session(), stmt, query, ProtectedArea.code)


@endpoint("/areas", ["POST"], summary="Create a protected area (administrators)", tags=["areas"],
          body=AreaIn, response=AreaOut, status=201, responses={409: "Code already used"})
def create_area(body: AreaIn):
    require_admin()
    return area_service.create_area(get_session(), body.model_dump())


@endpoint("/areas/<area_id>", summary="One protected area", tags=["areas"], response=AreaOut)
def get_area(area_id: str):
    return load_in_area(get_session(), ProtectedArea, area_id).row


@endpoint("/areas/<area_id>", ["PATCH"], summary="Change a protected area (managers)", tags=["areas"],
          body=AreaPatch, response=AreaOut)
def patch_area(area_id: str, body: AreaPatch):
    s = get_session()
    row = load_in_area(s, ProtectedArea, area_id, "manager").row
    return area_service.update_area(s, row, body.model_dump(exclude_unset=True))


@endpoint("/areas/<area_id>", ["DELETE"], summary="Delete a protected area and all its data (administrators)",
          tags=["areas"], status=204)
def delete_area(area_id: str):
    require_admin()
    s = get_session()
    crud.delete(s, crud.get_or_404(s, ProtectedArea, area_id, "protected area"), area_id)


# ---- programs ------------------------------------------------------------------
@endpoint("/programs", summary="List monitoring programs", tags=["programs"], query=ProgramQuery, response=ProgramOut)
def list_programs(query: ProgramQuery):
    stmt = scope_query(get_session(), select(Program), Program.area_id, query.area_id)
    if query.protocol:
        stmt = stmt.where(Program.protocol == query.protocol)
    return paginate(get_session(), stmt, query, Program.name)


@endpoint("/programs", ["POST"], summary="Create a program (managers)", tags=["programs"], body=ProgramIn,
          response=ProgramOut, status=201)
def create_program(body: ProgramIn):
    s = get_session()
    require_area(s, body.area_id, "manager")
    return program_service.create_program(s, body.model_dump())


def _program(program_id: str, minimum: str = "viewer") -> Program:
    return load_in_area(get_session(), Program, program_id, minimum).row


@endpoint("/programs/<program_id>", summary="One program", tags=["programs"], response=ProgramOut)
def get_program(program_id: str):
    return _program(program_id)


@endpoint("/programs/<program_id>", ["PATCH"], summary="Change a program (managers)", tags=["programs"],
          body=ProgramPatch, response=ProgramOut)
def patch_program(program_id: str, body: ProgramPatch):
    row = _program(program_id, "manager")
    return program_service.update_program(get_session(), row, body.model_dump(exclude_unset=True))


@endpoint("/programs/<program_id>", ["DELETE"], summary="Delete a program (managers)", tags=["programs"], status=204)
def delete_program(program_id: str):
    row = _program(program_id, "manager")
    crud.delete(get_session(), row, row.area_id)


# ---- locations -----------------------------------------------------------------
@endpoint("/locations", summary="List locations (stations)", tags=["locations"], query=LocationQuery,
          response=LocationOut)
def list_locations(query: LocationQuery):
    stmt = scope_query(get_session(), select(Location), Location.area_id, query.area_id)
    if query.name:
        stmt = stmt.where(Location.name == query.name)
    page = paginate(get_session(), stmt, query, Location.name)
    page.items = locations_as_seen(page.items)
    return page


def locations_as_seen(rows: list[Location]) -> list:
    """Stations with positions as the caller may see them (server/auth/policy.py)."""
    s, user = get_session(), current_user()
    return policy.location_view(s, rows, lambda loc: role_in_area(s, user, loc.area_id))


@endpoint("/locations", ["POST"], summary="Create a location (rangers)", tags=["locations"], body=LocationIn,
          response=LocationOut, status=201)
def create_location(body: LocationIn):
    s = get_session()
    require_area(s, body.area_id, "ranger")
    return crud.create(s, Location(**body.model_dump()), body.area_id)


def _location(location_id: str, minimum: str = "viewer") -> Location:
    return load_in_area(get_session(), Location, location_id, minimum).row


@endpoint("/locations/<location_id>", summary="One location", tags=["locations"], response=LocationOut)
def get_location(location_id: str):
    return locations_as_seen([_location(location_id)])[0]


@endpoint("/locations/<location_id>", ["PATCH"], summary="Change a location (rangers)", tags=["locations"],
          body=LocationPatch, response=LocationOut)
def patch_location(location_id: str, body: LocationPatch):
    row = _location(location_id, "ranger")
    return crud.update(get_session(), row, body, row.area_id)


@endpoint("/locations/<location_id>", ["DELETE"], summary="Delete a location (managers)", tags=["locations"],
          status=204)
def delete_location(location_id: str):
    row = _location(location_id, "manager")
    crud.delete(get_session(), row, row.area_id)
