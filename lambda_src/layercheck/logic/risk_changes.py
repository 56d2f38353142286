"""When an in-use image's lifecycle risk changes: the rule behind "Image Risk Changed" (DESIGN.md "Change events").

A change is a risk that appears, one that clears, or one whose action, rule or target storage class differs. A new
``previewedAt`` alone is the same risk seen again: every audit previews anew, and announcing each would page on every
audit instead of on news.
"""

from __future__ import annotations

from layercheck.models.lifecycle import LifecycleRisk


def risk_changed(previous: LifecycleRisk | None, current: LifecycleRisk | None) -> bool:
    """True when the risk appeared, cleared, or changed action, rule priority or target storage class."""
    if previous is None or current is None:
        return (previous is None) != (current is None)
    return not previous.same_risk(current)
