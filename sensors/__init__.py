"""BLE ingestion: firmware profiles → decoders, the bleak client (OS or virtual backend), bumble
virtual sensors, and the recording service.

Layout (each sub-package has one job):
- ``sensors.profiles`` / ``sensors.codec`` — profiles from firmware_specs/ and bytes → typed samples;
- ``sensors.ble`` — backend choice for bleak (OS radio, or bumble for virtual sensors);
- ``sensors.virtual`` — bumble GATT peripherals that speak the profiles, with fault injection;
- ``service`` — discovery, reconnecting links, clock alignment, journal, live API.
Errors share one root, ``sensors.errors.SensorError``.
"""
