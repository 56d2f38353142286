"""What an operator watches, composed from three parts: the alarm topic (alarm_topic.py), the alarms (alarms.py) and
the dashboard (dashboard.py). All three are built in this one scope, so their logical ids stay those of earlier
versions and an upgrade keeps the topic, its key and its subscription."""

from __future__ import annotations

from constructs import Construct

from infra.config import LayerCheckConfig
from infra.constructs.alarm_topic import alarm_topic
from infra.constructs.alarms import Watched, operator_alarms
from infra.constructs.dashboard import operator_dashboard


class Observability(Construct):
    """The dashboard, and alarms on the few conditions that need a person, sent to an encrypted SNS topic."""

    def __init__(self, scope: Construct, construct_id: str, *, config: LayerCheckConfig, watched: Watched) -> None:
        super().__init__(scope, construct_id)
        self.topic = alarm_topic(self, config=config)
        self.alarms = operator_alarms(self, config=config, topic=self.topic, watched=watched)
        self.dashboard = operator_dashboard(self, config=config, watched=watched, alarms=self.alarms)
