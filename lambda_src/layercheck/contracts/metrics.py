"""The metrics contract (DESIGN.md "Metrics"): namespace, the one dimension and its values, every metric name.

The function emits them (observability.py), the dashboard and alarms read them (infra/), tests outside this
repository rely on them exactly."""

SERVICE_NAME = "layercheck"  # POWERTOOLS_SERVICE_NAME: names logs and traces, not a metric dimension
NAMESPACE = "LayerCheck"

SOURCE_DIMENSION = "Source"
SOURCE_API = "api"
SOURCE_SCHEDULE = "schedule"
SOURCE_PUSH = "push"
SOURCES = (SOURCE_API, SOURCE_SCHEDULE, SOURCE_PUSH)

LAYERS_CHECKED = "LayersChecked"
LAYERS_AVAILABLE = "LayersAvailable"
LAYERS_UNAVAILABLE = "LayersUnavailable"
LAYERS_MISSING = "LayersMissing"
INVALID_DIGESTS = "InvalidDigests"
CHECK_ERRORS = "CheckErrors"
IMAGES_CHECKED = "ImagesChecked"
BROKEN_IMAGES = "BrokenImages"
IN_USE_IMAGES_BROKEN = "InUseImagesBroken"
# Images in use that cannot be pulled: the registry no longer holds them (MISSING) or they are archived (ARCHIVED).
IN_USE_IMAGES_MISSING = "InUseImagesMissing"
# In-use images the repository's lifecycle policy would expire or archive, as ECR's own preview says.
IN_USE_IMAGES_AT_RISK = "InUseImagesAtRisk"
REPLICAS_INCOMPLETE = "ReplicasIncomplete"
# "Image Verdict Changed" events EventBridge did not take after every retry (the verdicts are stored all the same).
CHANGE_EVENTS_UNSENT = "ChangeEventsUnsent"
# Audited registries (account × Region) that could not be read (role missing, access denied, Region not enabled):
# each is logged as "registry unreadable" with its account, Region and AWS's error code (docs/EVENTS.md).
REGISTRIES_UNREADABLE = "RegistriesUnreadable"

# Layer verdicts, as the dashboard shows them beside LayersChecked (their sum).
LAYER_VERDICT_METRICS = (LAYERS_AVAILABLE, LAYERS_UNAVAILABLE, LAYERS_MISSING, INVALID_DIGESTS, CHECK_ERRORS)
