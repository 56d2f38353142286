"""ECR's rules for the names it accepts, as regular expressions (CreateRepository / BatchCheckLayerAvailability).

Used by the API and event models, the stack's context validation and the command line."""

REGISTRY_ID_PATTERN = r"^[0-9]{12}$"
REPOSITORY_NAME_PATTERN = r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$"
# A repository name prefix: ECR's name rule, possibly cut after a separator ("team-a/", "team-").
REPOSITORY_PREFIX_PATTERN = r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*[/._-]?$"
# OCI image spec's registered algorithms, lowercase hex only:
# https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests
DIGEST_PATTERN = r"^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$"

# -- organization scale (issue 11): the audit's accounts and Regions, the reader role ------------------------------
# An AWS Region's name: us-east-1, eu-central-2, us-gov-west-1, cn-north-1, us-isob-east-1.
REGION_PATTERN = r"^[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}$"
# IAM role names: https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
IAM_ROLE_NAME_PATTERN = r"^[\w+=,.@-]{1,64}$"
# Organizations ids: https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListChildren.html
ORGANIZATIONAL_UNIT_ID_PATTERN = r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$"
ORGANIZATION_ROOT_ID_PATTERN = r"^r-[0-9a-z]{4,32}$"
