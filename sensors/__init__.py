"""The radio: sensor profiles, packet codec, bleak backends and virtual peripherals — nothing above it.

Layout (each sub-package has one job):
- ``sensors.profiles`` — the firmware specs as package data (firmware_specs/*.json link here);
- ``sensors.codec`` — bytes ↔ typed samples, a pure function per profile, plus the stream checker;
- ``sensors.ble`` — backend choice for bleak (OS radio, or bumble for virtual sensors);
- ``sensors.virtual`` — bumble GATT peripherals that speak the profiles, with fault injection.
The recording application that uses them is ``service``. Errors share one root,
``sensors.errors.SensorError``.
"""
