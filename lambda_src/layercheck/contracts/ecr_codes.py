"""ECR's error and failure codes layercheck acts on, spelled once (ECR's API reference, "Errors" of each action and
``ImageFailureCode``)."""

# DescribeImages / BatchDeleteImage ...: the image id names no image (an exception: the whole call fails).
IMAGE_NOT_FOUND_EXCEPTION = "ImageNotFoundException"
# BatchGetImage's per-image failure code (ImageFailureCode): the repository does not hold this manifest.
IMAGE_NOT_FOUND_FAILURE = "ImageNotFound"
# BatchGetImage's per-image failure code for an image id whose digest is not a digest.
INVALID_IMAGE_DIGEST_FAILURE = "InvalidImageDigest"
REPOSITORY_NOT_FOUND = "RepositoryNotFoundException"
ACCESS_DENIED = "AccessDeniedException"
THROTTLING = "ThrottlingException"

# The registry no longer holds the image (or its repository): a workload on it cannot start a new copy.
IMAGE_GONE_CODES = frozenset({IMAGE_NOT_FOUND_EXCEPTION, IMAGE_NOT_FOUND_FAILURE, REPOSITORY_NOT_FOUND})
