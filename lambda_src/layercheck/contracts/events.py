"""Event names the doors recognise and the one layercheck publishes (DESIGN.md "Change events")."""

ECR_SOURCE = "aws.ecr"
ECR_IMAGE_ACTION_DETAIL_TYPE = "ECR Image Action"
# "ECR Image Action" action-type values the push rule subscribes to, and the result it keeps.
# https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html
ECR_ACTION_PUSH = "PUSH"
ECR_ACTION_DELETE = "DELETE"
ECR_ACTION_UPDATE_STORAGE_CLASS = "UPDATE_STORAGE_CLASS"  # an archive or a restore (UpdateImageStorageClass, lifecycle)
ECR_IMAGE_ACTIONS = (ECR_ACTION_PUSH, ECR_ACTION_DELETE, ECR_ACTION_UPDATE_STORAGE_CLASS)
ECR_RESULT_SUCCESS = "SUCCESS"
SCHEDULED_EVENT_DETAIL_TYPE = "Scheduled Event"
SCHEDULE_SOURCES = ("aws.events", "aws.scheduler")
SQS_EVENT_SOURCE = "aws:sqs"
# A schedule's constant input: {"layercheckAudit": {...}}.
AUDIT_INPUT_KEY = "layercheckAudit"

LAYERCHECK_SOURCE = "layercheck"
IMAGE_VERDICT_CHANGED_DETAIL_TYPE = "Image Verdict Changed"
# An in-use image's lifecycle risk appeared, changed (action, rule, target storage class) or cleared.
IMAGE_RISK_CHANGED_DETAIL_TYPE = "Image Risk Changed"

# "Image Verdict Changed" detail's usedBy[].kind values (also stored on image verdicts): who runs an image.
USED_BY_ECS_SERVICE = "ecs-service"
USED_BY_ECS_TASK = "ecs-task"
USED_BY_LAMBDA_FUNCTION = "lambda-function"
USED_BY_INVENTORY = "inventory"
USED_BY_KINDS = (USED_BY_ECS_SERVICE, USED_BY_ECS_TASK, USED_BY_LAMBDA_FUNCTION, USED_BY_INVENTORY)
