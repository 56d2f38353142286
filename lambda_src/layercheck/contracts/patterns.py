"""ECR's rules for the names it accepts, as regular expressions (CreateRepository / BatchCheckLayerAvailability).

Used by the API and event models, the stack's context validation and the command line."""

REGISTRY_ID_PATTERN = r"^[0-9]{12}$"
REPOSITORY_NAME_PATTERN = r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$"
# A repository name prefix: ECR's name rule, possibly cut after a separator ("team-a/", "team-").
REPOSITORY_PREFIX_PATTERN = r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*[/._-]?$"
# OCI image spec's registered algorithms, lowercase hex only:
# https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests
DIGEST_PATTERN = r"^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$"
