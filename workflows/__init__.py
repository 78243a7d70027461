"""The regulation's Python side: organisation, domain tables, service-task handlers, rules.

Importing this package registers the regulation's role ids and service-task handlers with the engine.
"""

from engine.assignment import register_roles
from workflows import (
    account_revocation,  # noqa: F401  (revocation service tasks)
    agency_admin_change,  # noqa: F401  (admin change service tasks)
    agency_onboarding,  # noqa: F401  (Form 1-1 and onboarding service tasks)
    annual_submission,  # noqa: F401  (yearly submission to the master agency, R8.1.6)
    delegation_consent,  # noqa: F401  (consent service task)
    evidence_package,  # noqa: F401  (seals the half-year evidence package, R8.1.5)
    internal_audit,  # noqa: F401  (pre-fills Form 4, R8.1.3)
    models_accounts,  # noqa: F401  (account lifecycle tables)
    models_records,  # noqa: F401  (query logs, register, findings tables)
    proxy_query_authorization,  # noqa: F401  (Form 3 service tasks)
    query_explanation,  # noqa: F401  (registers the explanation service task)
    reconcile,  # noqa: F401  (registers the reconciliation service task)
    records_disposition,  # noqa: F401  (destroys evidence past retention, R7.4)
    user_account_application,  # noqa: F401  (registers its service task)
)
from workflows.roles import ROLE_IDS

register_roles(ROLE_IDS)
