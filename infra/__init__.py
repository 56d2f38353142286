"""The layercheck CDK v2 application: one Lambda behind API Gateway, EventBridge and SQS, with its table and alarms."""
