"""cdk-nag 3 wiring: the rule packs that run on every synth, and the one way this project acknowledges a finding."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import IConstruct


def add_nag_checks(scope: IConstruct) -> None:
    """AwsSolutions and Serverless packs as CDK validation plugins. Any finding, error or warning, that is not
    acknowledged fails the synth (``app.synth()`` raises, ``cdk synth``/``deploy`` stop)."""
    Validations.of(scope).add_plugins(AwsSolutionsChecks(scope, verbose=True), ServerlessChecks(scope, verbose=True))


def acknowledge(scope: IConstruct, findings: dict[str, str]) -> None:
    """Acknowledge cdk-nag findings on ``scope`` (and the resources under it), each ``finding id -> reason``.

    Finding ids are what cdk-nag prints, e.g. ``AwsSolutions-IAM5[Resource::*]``; the pack name before the first
    ``-`` becomes the validation plugin prefix cdk-nag 3 expects (``AwsSolutions::AwsSolutions-IAM5[...]``).
    """
    Validations.of(scope).acknowledge(
        *(
            Acknowledgment(id=f"{finding.split('-', 1)[0]}::{finding}", reason=reason)
            for finding, reason in findings.items()
        )
    )
