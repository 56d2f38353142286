"""ECR's rules for the names it accepts, as regular expressions (CreateRepository / BatchCheckLayerAvailability).

Used by the API and event models, the stack's context validation and the command line."""

REGISTRY_ID_PATTERN = r"^[0-9]{12}$"
REPOSITORY_NAME_PATTERN = r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$"
# A repository name prefix: ECR's name rule, possibly cut after a separator ("team-a/", "team-").
REPOSITORY_PREFIX_PATTERN = r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*[/._-]?$"
# OCI image spec's registered algorithms, lowercase hex only:
# https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests
DIGEST_PATTERN = r"^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$"

# An image tag: ECR's 1-300 characters (ImageTag) in the Docker reference grammar's alphabet, so that a client can
# push and pull it: https://github.com/distribution/reference/blob/main/reference.go
IMAGE_TAG_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,299}$"
# An AWS Region's name: us-east-1, eu-central-2, us-gov-west-1, cn-north-1, us-isob-east-1. Bounded (at most 56
# characters) so that botocore takes it: it refuses a region_name over 64 characters (InvalidRegionError, a 5xx).
REGION_NAME = r"[a-z]{2}(?:-[a-z]{1,16}){1,3}-[0-9]{1,2}"
REGION_PATTERN = rf"^{REGION_NAME}$"
# An ECR private registry's host, as image URIs name it: <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn], or the
# dual-stack <account>.dkr-ecr[-fips].<region>.on.aws. https://docs.aws.amazon.com/general/latest/gr/ecr.html
ECR_REGISTRY_HOST_PATTERN = (
    r"^(?P<registryId>[0-9]{12})\."
    rf"(?:dkr\.ecr(?:-fips)?\.(?P<region>{REGION_NAME})\.amazonaws\.com(?:\.cn)?"
    rf"|dkr-ecr(?:-fips)?\.(?P<dualStackRegion>{REGION_NAME})\.on\.aws)$"
)
# An inventory's source name (POST /inventory "source"): it ends up in usedBy ids and in the inventory's table keys,
# whose separator "#" it therefore cannot contain. "eks:prod-cluster", "k8s/prod", "on-prem.build-farm".
INVENTORY_SOURCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$"

# -- organization scale: the audit's accounts and Regions, the reader role ------------------------------
# REGION_PATTERN (above) names the Regions of AUDIT_REGIONS too.
# IAM role names: https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
# IAM's "\w" is ASCII: spelt out, as a regex engine's Unicode "\w" would take letters IAM refuses (and pydantic-core
# builds a Unicode class in about 20 ms, a tenth of a cold start).
IAM_ROLE_NAME_PATTERN = r"^[A-Za-z0-9_+=,.@-]{1,64}$"
# Organizations ids: https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListChildren.html
ORGANIZATIONAL_UNIT_ID_PATTERN = r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$"
ORGANIZATION_ROOT_ID_PATTERN = r"^r-[0-9a-z]{4,32}$"
