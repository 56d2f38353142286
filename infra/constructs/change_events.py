"""The bus that carries "Image Verdict Changed" events (DESIGN.md "Change events").

By default the stack creates a dedicated bus named ``<stackName>-verdicts``: teams subscribe with rules on it, its
permissions concern layercheck alone, and nothing else the account publishes shares its rules. Context
``eventBusName`` names an existing bus of this account and Region instead (``default``, or a bus your event routing
already uses): the stack then neither creates nor changes it. Either way each function that stores image verdicts may
``events:PutEvents`` on exactly that bus, and nothing else (integrations/event_bus.py).

The bus the stack creates also has a resource policy that denies ``events:PutEvents`` to every principal but the two
function roles (``aws:PrincipalArn``, their fixed ARNs): within one account an identity policy alone allows a call, so
without the Deny any role or user of the account allowed ``events:PutEvents`` on ``*`` could forge "Image Verdict
Changed" events that subscribers would act on. A principal without ``aws:PrincipalArn`` (a service) is denied too.
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.config import LayerCheckConfig
from infra.constructs.permissions import PULLING_FUNCTIONS
from infra.constructs.reader_access import function_role_arn

DEFAULT_BUS_SUFFIX = "-verdicts"
PUBLISHERS_ONLY_SID = "OnlyLayerCheckPublishes"


def bus_name(config: LayerCheckConfig) -> str:
    return config.event_bus_name or f"{config.stack_name}{DEFAULT_BUS_SUFFIX}"


def publishers_only(config: LayerCheckConfig, bus_arn: str) -> iam.PolicyStatement:
    """Deny PutEvents on the bus to anyone but the functions' roles (which publish what they store)."""
    publishers = [function_role_arn(config.stack_name, function) for function in PULLING_FUNCTIONS]
    return iam.PolicyStatement(
        sid=PUBLISHERS_ONLY_SID,
        effect=iam.Effect.DENY,
        principals=[iam.AnyPrincipal()],
        actions=["events:PutEvents"],
        resources=[bus_arn],
        conditions={"StringNotEquals": {"aws:PrincipalArn": publishers}},
    )


class ChangeEvents(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: LayerCheckConfig) -> None:
        super().__init__(scope, construct_id)
        self.bus_name = bus_name(config)
        self.bus: events.IEventBus
        if config.event_bus_name:
            self.bus = events.EventBus.from_event_bus_name(self, "Bus", config.event_bus_name)
        else:
            bus = events.EventBus(
                self, "Bus", event_bus_name=self.bus_name, description="layercheck: Image Verdict Changed events"
            )
            # The bus's own Policy property: EventBus.add_to_resource_policy (and CfnEventBusPolicy) go through a
            # deprecated property of AWS::Events::EventBusPolicy, which warns at every synth.
            resource = bus.node.default_child
            assert isinstance(resource, events.CfnEventBus)
            # The ARN from the name: the bus's own Arn attribute would make the resource depend on itself.
            own_arn = f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}:event-bus/{self.bus_name}"
            resource.policy = iam.PolicyDocument(statements=[publishers_only(config, own_arn)])
            self.bus = bus

    def grant_publish(self, role: iam.IRole) -> None:
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["events:PutEvents"], resources=[self.bus.event_bus_arn])
        )
