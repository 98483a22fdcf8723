"""Kept for API modules that import ``from . import crud``: the helpers live in
server/services/crud.py, shared with the administration pages."""
from ..services.crud import create, delete, get_or_404, update  # noqa: F401
from ..errors import NotFound  # noqa: F401
