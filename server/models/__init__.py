"""Table models, by domain. Importing this package registers every table."""
from .acoustic import AcousticIndex, Alert
from .area import Location, Program, ProtectedArea
from .audit import AuditLog
from .auth import ROLES, DeviceToken, LoginThrottle, Membership, User
from .base import new_id, utcnow
from .card import CardFile, CardUpload
from .cellular import CameraLogin, CameraUpload
from .deployment import Deployment, OperatingInterval
from .detection import Detection, Observation
from .field import FieldObservation, SurveyWalk, Transect
from .hub import HubPeer, HubRecord, PublishState
from .inventory import Device
from .job import Job, MLModel
from .media import Media, Sequence
from .report import ReportSubmission
from .sync import ServerState, SyncChange, SyncConflict, SyncMutation, Upload
from .taxon import Taxon

__all__ = [
    "AcousticIndex", "Alert", "AuditLog", "CameraLogin", "CameraUpload", "CardFile", "CardUpload", "Deployment", "Device", "DeviceToken",
    "Detection",
    "FieldObservation", "HubPeer", "HubRecord", "Job", "Location", "LoginThrottle", "MLModel", "Media", "Membership",
    "Observation", "OperatingInterval", "Program", "ProtectedArea", "PublishState", "ROLES", "ReportSubmission",
    "Sequence", "ServerState", "SurveyWalk",
    "SyncChange", "SyncConflict", "SyncMutation", "Taxon", "Transect", "Upload", "User",
    "new_id", "utcnow",
]
