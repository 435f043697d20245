"""Virtual BLE IMUs (bumble GATT peripherals) that speak the firmware specs exactly.

- `VirtualSensor` / `VirtualSensorConfig` — one sensor; fault injection by method.
- `VirtualSensorHub` — sensors sharing a virtual radio (``async with``); transport ``local:NAME``
  in-process, `serve_hci_tcp()` for other processes.
- `MotionSource` — what the sensor measures (RawSession stream, CSV, or seeded synthetic motion).
- `BodyClock` — the motion timeline a hub's sensors share (runs through link drops and reboots).
- `sensor_name`, `build_hub` — the naming convention and a one-call hub for thigh + pelvis.
- `VirtualSensorProcess` — run the sensors in a child process (`python -m sensors.virtual`, or
  `rehab sensors virtual` for a simulated drill), with asyncio or blocking.
"""

from sensors.virtual.hub import VirtualSensorHub
from sensors.virtual.peripheral import (
    FaultCounters,
    SensorClock,
    SentPacket,
    VirtualSensor,
    VirtualSensorConfig,
)
from sensors.virtual.process import VirtualSensorProcess
from sensors.virtual.runner import (
    RunOptions,
    build_hub,
    run_virtual_sensors,
    sensor_name,
)
from sensors.virtual.source import BodyClock, MotionSource

__all__ = [
    "BodyClock",
    "FaultCounters",
    "MotionSource",
    "RunOptions",
    "SensorClock",
    "SentPacket",
    "VirtualSensor",
    "VirtualSensorConfig",
    "VirtualSensorHub",
    "VirtualSensorProcess",
    "build_hub",
    "run_virtual_sensors",
    "sensor_name",
]
