"""The Lambda's environment variable names (DESIGN.md "Lambda environment"): set by the stack, read by settings.py,
set by the local tooling. One definition, so the three cannot drift apart."""

RESULTS_TABLE_NAME = "RESULTS_TABLE_NAME"
AUDIT_QUEUE_URL = "AUDIT_QUEUE_URL"
IDEMPOTENCY_TABLE_NAME = "IDEMPOTENCY_TABLE_NAME"
IDEMPOTENCY_EXPIRES_SECONDS = "IDEMPOTENCY_EXPIRES_SECONDS"
EVENT_BUS_NAME = "EVENT_BUS_NAME"
RESULTS_TTL_DAYS = "RESULTS_TTL_DAYS"
CHECK_WORKERS = "CHECK_WORKERS"
ECR_MAX_CALLS_PER_SECOND = "ECR_MAX_CALLS_PER_SECOND"

AUDIT_REPOSITORY_PREFIXES = "AUDIT_REPOSITORY_PREFIXES"
AUDIT_TAGGED_ONLY = "AUDIT_TAGGED_ONLY"
AUDIT_NEWEST_IMAGES = "AUDIT_NEWEST_IMAGES"
AUDIT_ACCOUNTS = "AUDIT_ACCOUNTS"
AUDIT_REGIONS = "AUDIT_REGIONS"
READER_ROLE_NAME = "READER_ROLE_NAME"
# Optional: the ExternalId the reader roles' trust requires (context readerExternalId), sent with every AssumeRole.
READER_EXTERNAL_ID = "READER_EXTERNAL_ID"
REPLICATION_GRACE_MINUTES = "REPLICATION_GRACE_MINUTES"
INVENTORY_TTL_HOURS = "INVENTORY_TTL_HOURS"
REGISTRY_IDS = "REGISTRY_IDS"
# Values of the organization-scale variables (issue 11), shared with the stack's context validation.
AUDIT_ACCOUNTS_ORGANIZATION = "organization"  # AUDIT_ACCOUNTS=organization[,<ou-or-root-id>...]
DEFAULT_READER_ROLE_NAME = "LayerCheckReader"
DEFAULT_REPLICATION_GRACE_MINUTES = 60
# POST /inventory entries stop counting as "in use" this long after their last report (issue 10).
DEFAULT_INVENTORY_TTL_HOURS = 48
# Verdicts: how long a push check may spend asking ECR again about blobs it said it lacks (0 turns it off).
PUSH_RECHECK_SECONDS = "PUSH_RECHECK_SECONDS"
API_DEADLINE_SECONDS = "API_DEADLINE_SECONDS"

# Lambda sets this itself: the function's own Region (the audit's home Region, AUDIT_REGIONS' default).
AWS_REGION = "AWS_REGION"
AWS_DEFAULT_REGION = "AWS_DEFAULT_REGION"

# Powertools reads these itself.
POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
POWERTOOLS_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
POWERTOOLS_LOG_LEVEL = "POWERTOOLS_LOG_LEVEL"
POWERTOOLS_TRACE_DISABLED = "POWERTOOLS_TRACE_DISABLED"
