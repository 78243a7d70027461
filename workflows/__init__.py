"""The regulation's Python side: organisation, domain tables, service-task handlers, rules.

Importing this package registers the regulation's role ids and service-task handlers with the engine.
"""

from engine.assignment import register_roles
from workflows import (
    records_disposition,  # noqa: F401  (destroys evidence past retention, R7.4)
    user_account_application,  # noqa: F401  (registers its service task)
)
from workflows.roles import ROLE_IDS

register_roles(ROLE_IDS)
