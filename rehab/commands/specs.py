"""`rehab specs` — the supported sensor profiles, their GATT UUIDs, rates and batching."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from sensors.profiles import PROFILES


def _rates(rates: tuple[float, ...]) -> str:
    return ", ".join(f"{r:g}" for r in rates) + " Hz"


def _spp(n: int) -> str:
    return str(n) if n else "— (needs larger MTU)"


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rehab` app."""

    @app.command("specs")
    def specs() -> None:
        """List the supported sensor profiles (firmware_specs/) with their BLE UUIDs."""
        table = Table(title="Supported sensor profiles (firmware_specs/)", show_lines=True)
        table.add_column("profile", style="bold cyan", no_wrap=True)
        table.add_column("title")
        table.add_column("service UUID", no_wrap=True)
        table.add_column("data (notify) / control UUIDs", no_wrap=True)
        table.add_column("rates")
        table.add_column("samples/packet\nMTU 23", justify="right")
        table.add_column("samples/packet\nMTU 247", justify="right")
        for p in PROFILES.values():
            table.add_row(
                p.name,
                p.title,
                p.service_uuid,
                f"{p.data_char_uuid}\n{p.control_char_uuid}",
                _rates(p.rates_hz) + f"\n(default {p.default_rate_hz:g})",
                _spp(p.samples_per_packet(23)),
                _spp(p.samples_per_packet(247)),
            )
        Console().print(table)
