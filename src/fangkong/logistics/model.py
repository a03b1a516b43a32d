"""The values of the logistics tables' enum columns (plain data, no database): the
tables' CHECK constraints, the pack parser and the pure check read them from here."""

from __future__ import annotations

CHECKPOINT_KINDS = ("road_checkpoint", "service_area", "toll_station", "freight_hub")
DIRECTIONS = ("in", "out")
VEHICLE_KINDS = ("lorry", "van", "car", "bus")
CARGO_CLASSES = ("key_supplies", "medical", "ordinary", "none")
PASS_VERDICTS = (
    "none",
    "valid",
    "invalid",
    "revoked",
    "expired",
    "wrong_vehicle",
    "wrong_route",
    "wrong_driver",
)
OUTCOMES = ("passed", "sampled_released", "turned_back", "closed_loop")
CROSSING_VIAS = ("api", "file", "form")
PERSON_ROLES = ("driver", "passenger")
CODE_COLOURS = ("green", "yellow", "red", "none")
