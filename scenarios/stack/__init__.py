"""The lab's local servers: MariaDB primary + replica, Redis, RabbitMQ (see ``Stack``)."""

from scenarios.stack.errors import MissingBinary, StackError
from scenarios.stack.info import StackInfo
from scenarios.stack.paths import LabPaths
from scenarios.stack.stack import Stack
from scenarios.stack.status import PartStatus

__all__ = ["LabPaths", "MissingBinary", "PartStatus", "Stack", "StackError", "StackInfo"]
