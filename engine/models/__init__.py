"""Engine tables, one aggregate per module."""

from engine.models.audit import AuditEvent
from engine.models.clock import SchedulerLease, SimulatedClockState
from engine.models.comment import TaskComment
from engine.models.deployment import Deployment, DeploymentFile, ProcessVersion
from engine.models.draft import ModelDraft
from engine.models.evidence import EvidenceFile
from engine.models.human_task import HumanTask, TaskStatus
from engine.models.inbox import SavedFilter, TaskDraft
from engine.models.instance import InstanceStatus, OutboxMessage, ProcessInstance
from engine.models.job import BackgroundJob, JobStatus
from engine.models.obligation import ObligationPeriod
from engine.models.org import Agency, ApiToken, RoleAssignment, User

__all__ = [
    "Agency", "ApiToken", "AuditEvent", "BackgroundJob", "Deployment", "DeploymentFile", "EvidenceFile", "HumanTask",
    "InstanceStatus", "JobStatus", "ModelDraft", "ObligationPeriod", "OutboxMessage", "ProcessInstance",
    "ProcessVersion", "RoleAssignment", "SavedFilter", "SchedulerLease", "SimulatedClockState", "TaskComment",
    "TaskDraft", "TaskStatus", "User",
]
