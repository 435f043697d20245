"""Translate bumble's GATT and advertising objects into bleak's types."""

from __future__ import annotations

import uuid as uuid_lib
from collections.abc import Callable
from typing import Any, Final, cast

from bleak.assigned_numbers import CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.scanner import AdvertisementData
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bumble.core import UUID, AdvertisingData
from bumble.device import Advertisement
from bumble.gatt import Characteristic
from bumble.gatt_client import ServiceProxy

_PROPERTY_NAMES: Final[tuple[tuple[int, CharacteristicPropertyName], ...]] = (
    (Characteristic.Properties.BROADCAST, "broadcast"),
    (Characteristic.Properties.READ, "read"),
    (Characteristic.Properties.WRITE_WITHOUT_RESPONSE, "write-without-response"),
    (Characteristic.Properties.WRITE, "write"),
    (Characteristic.Properties.NOTIFY, "notify"),
    (Characteristic.Properties.INDICATE, "indicate"),
    (Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES, "authenticated-signed-writes"),
    (Characteristic.Properties.EXTENDED_PROPERTIES, "extended-properties"),
)

_SERVICE_UUID_TYPES: Final = (
    AdvertisingData.Type.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
)


def uuid_str(value: UUID) -> str:
    """bleak's form of a UUID: lower-case 128-bit with dashes."""
    return str(uuid_lib.UUID(bytes=value.to_bytes(force_128=True)[::-1]))


def property_names(properties: int) -> list[CharacteristicPropertyName]:
    return [name for flag, name in _PROPERTY_NAMES if properties & flag]


def advertisement_data(adv: Advertisement) -> AdvertisementData:
    """bleak's AdvertisementData from a bumble advertisement report."""
    data = adv.data
    name = data.get(AdvertisingData.Type.COMPLETE_LOCAL_NAME) or data.get(
        AdvertisingData.Type.SHORTENED_LOCAL_NAME
    )
    service_uuids: list[str] = []
    for ad_type in _SERVICE_UUID_TYPES:
        for uuids in data.get_all(ad_type):
            service_uuids.extend(uuid_str(u) for u in uuids)
    manufacturer: dict[int, bytes] = {}
    for item in data.get_all(AdvertisingData.Type.MANUFACTURER_SPECIFIC_DATA):
        company_id, payload = item
        manufacturer[int(company_id)] = bytes(payload)
    service_data: dict[str, bytes] = {}
    for ad_type in (
        AdvertisingData.Type.SERVICE_DATA_16_BIT_UUID,
        AdvertisingData.Type.SERVICE_DATA_32_BIT_UUID,
        AdvertisingData.Type.SERVICE_DATA_128_BIT_UUID,
    ):
        for entry in data.get_all(ad_type):
            # bumble types get_all() as the union of every AD type's value; SERVICE_DATA_* are (UUID, bytes)
            service_uuid, payload = cast(tuple[Any, bytes], entry)
            service_data[uuid_str(service_uuid)] = bytes(payload)
    tx_power = None if adv.tx_power == Advertisement.TX_POWER_NOT_AVAILABLE else adv.tx_power
    return AdvertisementData(
        local_name=str(name) if name is not None else None,
        manufacturer_data=manufacturer,
        service_data=service_data,
        service_uuids=list(dict.fromkeys(service_uuids)),
        tx_power=tx_power,
        rssi=int(adv.rssi),
        platform_data=(adv,),
    )


def service_collection(
    services: list[ServiceProxy], max_write_without_response_size: Callable[[], int]
) -> BleakGATTServiceCollection:
    """bleak's service tree from discovered bumble proxies (services, characteristics, descriptors)."""
    collection = BleakGATTServiceCollection()
    for service in services:
        bleak_service = BleakGATTService(service, service.handle, uuid_str(service.uuid))
        collection.add_service(bleak_service)
        for characteristic in service.characteristics:
            bleak_char = BleakGATTCharacteristic(
                characteristic,
                characteristic.handle,
                uuid_str(characteristic.uuid),
                property_names(int(characteristic.properties)),
                max_write_without_response_size,
                bleak_service,
            )
            collection.add_characteristic(bleak_char)
            for descriptor in characteristic.descriptors:
                collection.add_descriptor(
                    BleakGATTDescriptor(descriptor, descriptor.handle, uuid_str(descriptor.type), bleak_char)
                )
    return collection
