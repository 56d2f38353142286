"""The layercheck CDK v2 application: the API and worker functions (one asset, one handler) behind API Gateway,
EventBridge and SQS, with their table, change-event bus, dashboard and alarms; and the member accounts' reader role."""
