"""Field protocols and species reference, shared by the server and the field app.

Stdlib only: this package must run on Android (no pydantic, no compiled deps).

    >>> import protocols
    >>> p = protocols.load("line_transect")
    >>> errors = protocols.validate(p, {"record_type": "observation", ...})
    >>> [e.message("vi") for e in errors]
"""
from .effort import operating_intervals
from .geometry import perpendicular_distance
from .loader import (
    Protocol,
    ProtocolDefinitionError,
    ProtocolNotFound,
    RecordType,
    list_protocols,
    load,
    load_definition,
    load_file,
)
from .messages import FieldError
from .validation import complete, parse_datetime, validate
from .version import ProtocolVersionError, check_compatibility, is_compatible, parse_version

__all__ = [
    "FieldError", "Protocol", "ProtocolDefinitionError", "ProtocolNotFound", "ProtocolVersionError",
    "RecordType", "check_compatibility", "complete", "is_compatible", "list_protocols", "load",
    "load_definition", "load_file", "operating_intervals", "parse_datetime", "parse_version",
    "perpendicular_distance", "validate",
]
