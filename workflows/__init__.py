"""The regulation's Python side: organisation, domain tables, service-task handlers, rules.

Importing this package registers the regulation's role ids and service-task handlers with the engine.
"""

from engine.assignment import register_roles
from workflows import user_account_application  # noqa: F401  (registers its service task)
from workflows.roles import ROLE_IDS

register_roles(ROLE_IDS)
