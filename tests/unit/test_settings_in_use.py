"""The settings of images in use and change events: INVENTORY_TTL_HOURS (default 48) and EVENT_BUS_NAME."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from layercheck.contracts import environment as env
from layercheck.settings import Settings


def test_settings_default_to_48_hours_of_inventory_and_no_bus() -> None:
    settings = Settings.from_environment({env.RESULTS_TABLE_NAME: "t"})

    assert (settings.inventory_ttl_hours, settings.event_bus_name) == (48, None)


def test_settings_read_inventory_ttl_and_bus_from_their_contract_variables() -> None:
    settings = Settings.from_environment(
        {env.RESULTS_TABLE_NAME: "t", env.INVENTORY_TTL_HOURS: "6", env.EVENT_BUS_NAME: "layercheck-changes"}
    )

    assert (settings.inventory_ttl_hours, settings.event_bus_name) == (6, "layercheck-changes")


@pytest.mark.parametrize("hours", ["0", "-1", "soon"])
def test_settings_refuse_an_inventory_ttl_that_is_not_a_positive_number_of_hours(hours: str) -> None:
    with pytest.raises(ValidationError, match="inventory_ttl_hours"):
        Settings.from_environment({env.RESULTS_TABLE_NAME: "t", env.INVENTORY_TTL_HOURS: hours})
