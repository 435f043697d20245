"""Real virtual sensors (bumble, in this process) for the ingestion tests, and quick simulations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from sensors.ble import backend_options
from sensors.profiles import Profile, get_profile
from sensors.virtual import (
    VirtualSensor,
    VirtualSensorConfig,
    VirtualSensorHub,
)
from service.assignment import assign_by_name, discover, resolve

#: A short, brisk set: 4 reps in ~11 s after a 2.5 s calibration stand (keeps tests fast).
QUICK_SET = dict(
    reps=4, up_s=0.8, hold_s=0.3, down_s=0.8, rest_between_reps_s=0.6, stand_s=2.5, end_stand_s=1.0, packet_loss=0.0
)


@dataclass
class VirtualPair:
    hub: VirtualSensorHub
    sensors: dict[str, VirtualSensor]
    devices: dict[str, tuple[Any, Profile]]
    client_kwargs: dict[str, Any]
    scanner_kwargs: dict[str, Any]
    transport: str


async def start_pair(
    sources: dict[str, Any],
    *,
    battery: dict[str, int] | None = None,
    drift_ppm: tuple[float, float] = (80.0, -50.0),
    side: str = "right",
) -> VirtualPair:
    hub = VirtualSensorHub()
    await hub.start()
    sensors = {}
    for i, role in enumerate(("thigh", "pelvis")):
        sensors[role] = await hub.add_and_start(
            VirtualSensorConfig(
                name=f"RehabIMU-{role}-00{i + 1}",
                clock_drift_ppm=drift_ppm[i],
                clock_offset_us=(5_000_000, 77_000_000)[i],
                battery_percent=(battery or {}).get(role, 87),
                address_seed=100 + i,
            ),
            sources[role],
        )
    opts = backend_options(hub.transport)
    candidates = await discover(timeout_s=0.3, scanner_kwargs=opts.scanner)
    found = resolve(assign_by_name(candidates, side), candidates)
    devices = {r: (c.device, get_profile(c.profile)) for r, c in found.items()}
    return VirtualPair(hub, sensors, devices, opts.client, opts.scanner, hub.transport)


@pytest.fixture
def quick_sim():
    from simulation import SimulationConfig, simulate

    def make(seed: int = 3, **overrides: Any):
        cfg = {**QUICK_SET, **overrides}
        return simulate(SimulationConfig(exercise="knee_raise", side="right", seed=seed, **cfg))

    return make
