"""The regulation's Python side: organisation, domain tables, service-task handlers, rules.

Importing this package registers the regulation's role ids and service-task handlers with the engine.
"""

from engine.assignment import register_roles
from workflows import (
    account_revocation,  # noqa: F401  (revocation service tasks)
    agency_admin_change,  # noqa: F401  (admin change service tasks)
    agency_onboarding,  # noqa: F401  (Form 1-1 and onboarding service tasks)
    delegation_consent,  # noqa: F401  (consent service task)
    models_accounts,  # noqa: F401  (account lifecycle tables)
    models_records,  # noqa: F401  (query logs, register, findings tables)
    proxy_query_authorization,  # noqa: F401  (Form 3 service tasks)
    query_explanation,  # noqa: F401  (registers the explanation service task)
    reconcile,  # noqa: F401  (registers the reconciliation service task)
    record_jobs,  # noqa: F401  (imports, reconciliation, timer bursts as background jobs)
    records_disposition,  # noqa: F401  (destroys evidence past retention, R7.4)
    user_account_application,  # noqa: F401  (registers its service task)
)
from workflows.roles import ROLE_IDS

register_roles(ROLE_IDS)
