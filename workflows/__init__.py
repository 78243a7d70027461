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
    improper_query_investigation,  # noqa: F401  (improper-query cases, R6.4)
    internal_audit,  # noqa: F401  (pre-fills Form 4, R8.1.3)
    master_agency_audit,  # noqa: F401  (master audits and corrective actions, R2.3, R8.2)
    models_accounts,  # noqa: F401  (account lifecycle tables)
    models_audits,  # noqa: F401  (improper-query cases, master audits, corrective actions)
    models_disposition,  # noqa: F401  (records disposition list and record, R7.4)
    models_records,  # noqa: F401  (query logs, register, findings tables)
    password_rotation,  # noqa: F401  (lists the accounts that acknowledge, R5.6)
    proxy_query_authorization,  # noqa: F401  (Form 3 service tasks)
    query_explanation,  # noqa: F401  (registers the explanation service task)
    reconcile,  # noqa: F401  (registers the reconciliation service task)
    record_jobs,  # noqa: F401  (imports, reconciliation, timer bursts as background jobs)
    records_disposition,  # noqa: F401  (destroys evidence past retention, R7.4)
    register_check,  # noqa: F401  (monthly check and quarterly review service tasks)
    user_account_application,  # noqa: F401  (registers its service task)
)
from workflows.roles import ROLE_IDS

register_roles(ROLE_IDS)
