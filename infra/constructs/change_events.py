"""The bus that carries "Image Verdict Changed" events (DESIGN.md "Change events").

By default the stack creates a dedicated bus named ``<stackName>-verdicts``: teams subscribe with rules on it, its
permissions concern layercheck alone, and nothing else the account publishes shares its rules. Context
``eventBusName`` names an existing bus of this account and Region instead (``default``, or a bus your event routing
already uses): the stack then neither creates nor changes it. Either way each function that stores image verdicts may
``events:PutEvents`` on exactly that bus, and nothing else (integrations/event_bus.py).
"""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.config import LayerCheckConfig

DEFAULT_BUS_SUFFIX = "-verdicts"


def bus_name(config: LayerCheckConfig) -> str:
    return config.event_bus_name or f"{config.stack_name}{DEFAULT_BUS_SUFFIX}"


class ChangeEvents(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: LayerCheckConfig) -> None:
        super().__init__(scope, construct_id)
        self.bus_name = bus_name(config)
        self.bus: events.IEventBus
        if config.event_bus_name:
            self.bus = events.EventBus.from_event_bus_name(self, "Bus", config.event_bus_name)
        else:
            self.bus = events.EventBus(
                self, "Bus", event_bus_name=self.bus_name, description="layercheck: Image Verdict Changed events"
            )

    def grant_publish(self, role: iam.IRole) -> None:
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["events:PutEvents"], resources=[self.bus.event_bus_arn])
        )
