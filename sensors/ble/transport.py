"""Where a bumble host finds its controller: an in-process virtual link or HCI over a transport.

Transport specs (one string, so it fits an env var and a CLI option):

- ``local`` or ``local:NAME`` — a bumble ``LocalLink`` living in *this* process (the virtual
  sensors' hub registers it under NAME; ``local`` means NAME=``default``). The central gets its
  own virtual ``Controller`` on that link.
- anything bumble's ``open_transport`` accepts, typically ``tcp-client:127.0.0.1:PORT`` — HCI to a
  controller in another process (``rehab sensors virtual`` serves one with ``tcp-server``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import random
from typing import Final

from bumble import core, hci, ll
from bumble.controller import Controller
from bumble.host import Host
from bumble.link import LocalLink

#: Environment variable that selects the bumble transport when no ``transport`` is passed.
TRANSPORT_ENV_VAR: Final = "REHAB_BLE_TRANSPORT"

#: HCI reason used when a virtual radio link is lost (Vol 1 Part F: Connection Timeout).
CONNECTION_TIMEOUT_REASON: Final = hci.HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR

_LOCAL_LINKS: dict[str, LocalLink] = {}


@dataclasses.dataclass(frozen=True, slots=True)
class TransportSpec:
    """A parsed transport string: ``kind`` is ``local`` or a bumble transport scheme."""

    text: str
    kind: str
    argument: str

    @property
    def is_local(self) -> bool:
        return self.kind == "local"


def parse_transport(text: str) -> TransportSpec:
    """Validate a transport string; raises ValueError naming the bad part."""
    text = text.strip()
    if not text:
        raise ValueError("empty BLE transport spec; expected 'local[:NAME]' or e.g. 'tcp-client:127.0.0.1:PORT'")
    kind, _, argument = text.partition(":")
    if kind == "local":
        return TransportSpec(text=text, kind="local", argument=argument or "default")
    if kind in ("tcp-client", "tcp-server"):
        host, _, port = argument.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"BLE transport {text!r}: expected '{kind}:HOST:PORT'")
    return TransportSpec(text=text, kind=kind, argument=argument)


def transport_from_env() -> str | None:
    """The transport named by $REHAB_BLE_TRANSPORT, or None for the OS Bluetooth stack."""
    value = os.environ.get(TRANSPORT_ENV_VAR, "").strip()
    return value or None


def local_link(name: str = "default") -> LocalLink:
    """The in-process virtual radio called NAME (created on first use)."""
    link = _LOCAL_LINKS.get(name)
    if link is None:
        link = LocalLink()
        _LOCAL_LINKS[name] = link
    return link


def register_local_link(name: str, link: LocalLink) -> None:
    """Make LINK reachable as transport ``local:NAME`` (the hub does this)."""
    _LOCAL_LINKS[name] = link


def unregister_local_link(name: str, link: LocalLink) -> None:
    if _LOCAL_LINKS.get(name) is link:
        del _LOCAL_LINKS[name]


def find_local_link(name: str) -> LocalLink:
    link = _LOCAL_LINKS.get(name)
    if link is None:
        known = ", ".join(sorted(_LOCAL_LINKS)) or "none"
        raise LookupError(
            f"no in-process BLE link named {name!r} (known: {known}); start a VirtualSensorHub "
            f"first or use a 'tcp-client:HOST:PORT' transport"
        )
    return link


def random_static_address(rng: random.Random | None = None) -> hci.Address:
    """A random static address (two top bits set), as real sensors use."""
    rng = rng or random.Random()
    octets = [rng.randrange(256) for _ in range(6)]
    octets[0] |= 0xC0
    return hci.Address(":".join(f"{b:02X}" for b in octets), hci.Address.RANDOM_DEVICE_ADDRESS)


def drop_le_connections(controller: Controller, reason: int = CONNECTION_TIMEOUT_REASON) -> int:
    """Tear down every LE connection of CONTROLLER as a lost radio link would.

    Both ends see a disconnection with REASON (default: connection timeout), unlike an orderly
    HCI Disconnect from one host. Returns how many connections were dropped.
    """
    dropped = 0
    for connection in list(controller.le_connections.values()):
        with contextlib.suppress(core.InvalidArgumentError):  # the peer already left: only our side needs the event
            connection.send_ll_control_pdu(ll.TerminateInd(reason))
        controller.on_le_disconnected(connection, reason)
        dropped += 1
    return dropped


_CONTROLLER_LOG = logging.getLogger("bumble.controller")
_HOST_LOG = logging.getLogger("bumble.host")


class VirtualController(Controller):
    """bumble's virtual controller with two changes:

    - LE Create Connection Cancel: bumble 0.0.236 acknowledges it but never reports the aborted
      attempt, so a host whose connect timed out waits forever and the stale request can still
      connect later. Per Vol 4 Part E 7.8.13 the Command Complete is followed by an LE Connection
      Complete event with status Unknown Connection Identifier; this sends it.
      ``report_cancelled_connect=False`` keeps bumble's stock behaviour (tests of a host facing
      a stock bumble controller, e.g. bumble's ``controllers`` app, use it).
    - HCI packet hand-over without bumble's eager debug formatting (an f-string that renders
      every packet with colours even when debug logging is off: ~35 % of the CPU of a streaming
      sensor). With DEBUG enabled on ``bumble.controller`` bumble's own methods run unchanged.
    """

    def __init__(self, name: str, *, link: LocalLink | None = None, report_cancelled_connect: bool = True) -> None:
        super().__init__(name, link=link)
        self.report_cancelled_connect = report_cancelled_connect

    def on_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if _CONTROLLER_LOG.isEnabledFor(logging.DEBUG):
            super().on_hci_packet(packet)
        elif isinstance(packet, hci.HCI_AclDataPacket):
            self.on_hci_acl_data_packet(packet)
        elif isinstance(packet, hci.HCI_Command):
            self.on_hci_command_packet(packet)
        else:
            super().on_hci_packet(packet)

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if _CONTROLLER_LOG.isEnabledFor(logging.DEBUG):
            super().send_hci_packet(packet)
        elif self.host:
            asyncio.get_running_loop().call_soon(self.host.on_packet, bytes(packet))

    def on_hci_le_create_connection_cancel_command(
        self, command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        if not self.report_cancelled_connect:
            return super().on_hci_le_create_connection_cancel_command(command)
        pending = self.pending_le_connection
        self.pending_le_connection = None
        result = super().on_hci_le_create_connection_cancel_command(command)
        if pending is not None:
            asyncio.get_running_loop().call_soon(self._report_cancelled, pending.peer_address)
        return result

    def _report_cancelled(self, peer_address: hci.Address) -> None:
        self.send_hci_packet(
            hci.HCI_LE_Connection_Complete_Event(
                status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
                connection_handle=0,
                role=hci.Role.CENTRAL,
                peer_address_type=peer_address.address_type,
                peer_address=peer_address,
                connection_interval=0,
                peripheral_latency=0,
                supervision_timeout=0,
                central_clock_accuracy=0,
            )
        )


class VirtualHost(Host):
    """bumble's Host without the eager per-packet debug formatting (see VirtualController)."""

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if _HOST_LOG.isEnabledFor(logging.DEBUG) or self.snooper:
            super().send_hci_packet(packet)
        elif self.hci_sink:
            self.hci_sink.on_packet(bytes(packet))

    def on_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if _HOST_LOG.isEnabledFor(logging.DEBUG) or self.snooper:
            super().on_hci_packet(packet)
        elif isinstance(packet, hci.HCI_AclDataPacket):
            self.on_hci_acl_data_packet(packet)
        elif isinstance(packet, hci.HCI_Event):
            self.on_hci_event_packet(packet)
        else:
            super().on_hci_packet(packet)
