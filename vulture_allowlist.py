"""What vulture cannot see being used, each with why (``make lint`` runs vulture over the code; anything else it
reports is dead code to delete). Names are read here, so vulture counts them as used; this file is never imported."""

# ruff: noqa: B018, F821

# Called by the libraries we extend or fill in, not by our code.
_._check_value  # argparse.ArgumentParser hook: the choices error names the option as typed
_.user_agent_extra  # botocore.config.Config attribute read by botocore
_._get_body  # Powertools' APIGatewayRestResolver hook: the body read as JSON whatever its Content-Type
_._request_validation_middleware  # Powertools' resolver attribute the light JSON body replaces
_.METHOD  # botocore CredentialProvider's name for the credentials' source
_.close_connection  # http.server.BaseHTTPRequestHandler attribute: a dropped connection in the fault proxy
_.memory_limit_in_mb  # the LambdaContext interface the fake context implements
_.function_version  # idem
_.log_group_name  # idem
_.log_stream_name  # idem
handle_scheduled_event  # handler.py's door table names the doors as "module:function" strings
handle_constant_input  # idem

# Read by callers outside Python or by the tests and benchmarks that hold the code to its contract.
USED_BY_KINDS  # the contract's usedBy kinds, pinned to the UsedByKind enum by a test and to the alarm's pattern
MAX_WORK_ITEM_BYTES  # SQS's 256 KiB message bound the work-item tests assert every item stays under
API_GATEWAY_TIMEOUT_SECONDS  # API Gateway's 29 s, which the deadline and the function's timeout are tested against
plan_calls  # the minimal number of ECR calls for a request: the engine's tests and benchmarks compare with it
_.status_calls  # DescribeImageReplicationStatus calls made by a probe: the replica tests count them
_.manifest_media_type  # an ECR event field (alias manifest-media-type) kept in the model of the event
_.accepted  # POST /inventory answer field
_.expiring  # POST /lifecycle/previews answer field
_.push_rule  # the construct's rules, asserted by the infra tests
_.schedule_rule  # idem
rendered_dom  # headless Chromium's DOM of a page: the browser tests read it
_.torn_layer  # the scenario's broken layer, which the end-to-end tests name
_.pin  # the ECS service-revision stand-in's deployment, called by the pinned-digest tests
_.current_service_revisions  # set on moto's service object, which moto serializes in DescribeServices
_.audit_mapping  # the construct's event source mapping, asserted by the infra tests
REVISIONS_METHOD  # the ECS stand-in's action name, patched onto moto by the pinned-digest tests
service_revisions_action  # idem
in_use_source  # each in-use source's factory, named "module:function" in dependencies.IN_USE_SOURCES
