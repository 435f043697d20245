"""BLE access for the recorder: bleak's own API, with a bumble backend for virtual sensors.

Application code uses ``bleak.BleakScanner`` / ``bleak.BleakClient`` unchanged and spreads
``backend_options(transport)`` into their keyword arguments::

    opts = backend_options(transport)            # None → $REHAB_BLE_TRANSPORT → OS backend
    dev = await BleakScanner.find_device_by_name("RehabIMU-thigh-1234", **opts.scanner)
    async with BleakClient(dev, **opts.client) as client: ...

On real hardware (no transport, env var unset) both dicts are empty and bleak picks the OS
backend. With a transport spec (``local[:NAME]`` for sensors in this process, or
``tcp-client:127.0.0.1:PORT`` for ``rehab sensors virtual`` in another process) they carry
``backend=BumbleScanner|BumbleClient`` and ``bumble_transport=SPEC``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sensors.ble.client import DEFAULT_REQUESTED_MTU, BumbleClient
from sensors.ble.collect import NotificationCollector
from sensors.ble.scanner import BumbleScanner
from sensors.ble.transport import (
    TRANSPORT_ENV_VAR,
    TransportSpec,
    local_link,
    parse_transport,
    register_local_link,
    transport_from_env,
    unregister_local_link,
)


@dataclasses.dataclass(frozen=True, slots=True)
class BackendOptions:
    """Keyword arguments for BleakScanner (``scanner``) and BleakClient (``client``)."""

    transport: str | None
    scanner: dict[str, Any]
    client: dict[str, Any]

    @property
    def is_virtual(self) -> bool:
        return self.transport is not None


def backend_options(transport: str | None = None) -> BackendOptions:
    """Select the BLE backend: TRANSPORT, else $REHAB_BLE_TRANSPORT, else the OS stack."""
    spec = transport or transport_from_env()
    if spec is None:
        return BackendOptions(transport=None, scanner={}, client={})
    parse_transport(spec)  # fail early, naming the bad spec
    return BackendOptions(
        transport=spec,
        scanner={"backend": BumbleScanner, "bumble_transport": spec},
        client={"backend": BumbleClient, "bumble_transport": spec},
    )


__all__ = [
    "DEFAULT_REQUESTED_MTU",
    "TRANSPORT_ENV_VAR",
    "BackendOptions",
    "BumbleClient",
    "BumbleScanner",
    "NotificationCollector",
    "TransportSpec",
    "backend_options",
    "local_link",
    "parse_transport",
    "register_local_link",
    "transport_from_env",
    "unregister_local_link",
]
