"""Reading a device's identifiers: the YAML file, saved adb output, validation and errors."""

from __future__ import annotations

import codecs
import shutil
from pathlib import Path

import pytest

from phonehome.analyze.identifiers import (
    DeviceIdentifiers,
    KnownIdentifier,
    bind_identifiers,
    load_identifiers,
    luhn_check_digit,
    luhn_valid,
    mask,
    normalise,
    normalise_mac,
)
from phonehome.errors import UsageError
from phonehome.model import DeviceID

FIXTURES = Path(__file__).parent.parent / "fixtures" / "identifiers"
PHONE_MAC = "3c:28:6d:12:34:56"


def _values(entry: DeviceIdentifiers) -> set[tuple[str, str]]:
    return {(i.kind, i.value) for i in entry.identifiers}


def test_luhn() -> None:
    assert luhn_valid("490154203237518")  # the example IMEI of the GSMA/Wikipedia article
    assert luhn_valid("358240051111110")
    assert not luhn_valid("490154203237519")
    assert not luhn_valid("49015420323751a")
    assert luhn_check_digit("49015420323751") == "8"


@pytest.mark.parametrize(
    ("kind", "given", "expected"),
    [
        ("imei", "490154203237518", "490154203237518"),
        ("imei", "49-015420-323751-8", "490154203237518"),
        ("imei", "49015420323751", "490154203237518"),  # 14 digits: check digit added
        ("imei", "4901542032375101", "490154203237518"),  # IMEISV: software version dropped
        ("mac", "3C-28-6D-12-34-56", PHONE_MAC),
        ("mac", "3c28.6d12.3456", PHONE_MAC),
        ("mac", "3C286D123456", PHONE_MAC),
        ("mac", "3c:28:6d:12:34:56", PHONE_MAC),
        ("mac", "0:1a:2b:3:4:5", "00:1a:2b:03:04:05"),
        ("android_id", "51B6BE48BAC8C569", "51b6be48bac8c569"),
        ("advertising_id", "38400000-8CF0-11BD-B23E-10B96E40000D", "38400000-8cf0-11bd-b23e-10b96e40000d"),
        ("advertising_id", "384000008cf011bdb23e10b96e40000d", "38400000-8cf0-11bd-b23e-10b96e40000d"),
        ("phone", "+44 7700-900.123", "+447700900123"),
        ("phone", "07700 900123", "07700900123"),
        ("email", "Someone@Example.ORG", "Someone@example.org"),
        ("iccid", "8944 1100 6824 0000 0007", "89441100682400000007"),
    ],
)
def test_normalise(kind: str, given: str, expected: str) -> None:
    assert normalise(kind, given) == expected


@pytest.mark.parametrize(
    ("kind", "given"),
    [
        ("imei", "490154203237519"),  # Luhn fails
        ("imei", "4901542032375"),
        ("mac", "3c:28:6d:12:34"),
        ("mac", "zz:28:6d:12:34:56"),
        ("android_id", "xyz"),
        ("advertising_id", "00000000-0000-0000-0000-000000000000"),
        ("phone", "+44"),
        ("email", "not-an-address"),
        ("serial", "abc"),
        ("imsi", "23415abc"),
    ],
)
def test_normalise_rejects(kind: str, given: str) -> None:
    with pytest.raises(ValueError):
        normalise(kind, given)


def test_mask_keeps_at_most_two_characters_each_side() -> None:
    assert mask("358240051111110") == "35******10"
    assert mask("abcdefg") == "a******g"
    assert mask("abcd") == "******"
    assert normalise_mac("3C286D123456") == PHONE_MAC


def test_yaml_file_with_adb_outputs() -> None:
    phone, camera = load_identifiers(FIXTURES / "phone.yaml")
    assert phone.name == "Pixel 6 (test)"
    assert phone.match_macs == (PHONE_MAC,)
    assert phone.model == "Google Pixel 6"
    assert phone.home is not None and (phone.home.lat, phone.home.lon) == (51.5014, -0.1419)
    values = _values(phone)
    assert {
        ("imei", "358240051111110"),
        ("imei", "490154203237518"),  # persist.radio.imei2 from getprop
        ("serial", "1A2B3C4D5E6F"),
        ("mac", PHONE_MAC),
        ("mac", "3c:28:6d:ab:cd:ef"),  # Bluetooth MAC from getprop
        ("android_id", "51b6be48bac8c569"),
        ("advertising_id", "38400000-8cf0-11bd-b23e-10b96e40000d"),
        ("phone", "+447700900123"),
        ("phone", "07700900123"),
        ("email", "Someone.Test@example.org"),
        ("imsi", "234150999999999"),
        ("iccid", "89441100682400000007"),
        ("other:account_id", "u-4711-abcd"),
    } == values
    # One entry per (kind, value): the YAML's own source wins over the adb file that repeats it.
    imei = [i for i in phone.identifiers if i.value == "358240051111110"]
    assert len(imei) == 1 and imei[0].source.endswith("phone.yaml")
    assert camera.match_ips == ("192.168.1.64",)
    assert camera.device_keys() == (DeviceID("ip:192.168.1.64"),)


def test_getprop_directly_is_matched_by_its_wifi_mac() -> None:
    (entry,) = load_identifiers(FIXTURES / "pixel6-getprop.txt")
    assert entry.match_macs == (PHONE_MAC,)  # the Wi-Fi MAC, not the Bluetooth one
    assert entry.name == "Google Pixel 6"
    sources = {i.kind: i.source for i in entry.identifiers}
    assert sources["serial"].endswith("[ro.boot.serialno]")
    assert ("serial", "1A2B3C4D5E6F") in _values(entry)


def test_service_call_parcel_is_decoded(tmp_path: Path) -> None:
    (entry,) = load_identifiers(_with_mac(FIXTURES / "iphonesubinfo-1.txt", tmp_path))
    assert ("imei", "358240051111110") in _values(entry)
    (entry,) = load_identifiers(_with_mac(FIXTURES / "iphonesubinfo-line1.txt", tmp_path))
    assert ("phone", "+447700900123") in _values(entry)


def test_exception_parcel_gives_nothing(tmp_path: Path) -> None:
    path = tmp_path / "denied.txt"
    shutil.copy(FIXTURES / "iphonesubinfo-denied.txt", path)
    with pytest.raises(UsageError, match=r"^.*denied\.txt: adb output with no identifier"):
        load_identifiers(path)


def test_dumpsys_outputs(tmp_path: Path) -> None:
    (entry,) = load_identifiers(_with_mac(FIXTURES / "dumpsys-iphonesubinfo.txt", tmp_path))
    assert ("imei", "860955027785041") in _values(entry)
    (entry,) = load_identifiers(_with_mac(FIXTURES / "dumpsys-isub.txt", tmp_path))
    # The active SIM's ICCID is masked by Android ("894411[****]") and is skipped.
    assert {v for k, v in _values(entry) if k == "iccid"} == {"8944110068240000015"}
    # telephony.registry names the caller of the last incoming call, not the device: nothing.
    (entry,) = load_identifiers(_with_mac(FIXTURES / "dumpsys-telephony-registry.txt", tmp_path))
    assert {k for k, _ in _values(entry)} == {"mac"}


def test_android_id_line_and_utf16_file(tmp_path: Path) -> None:
    text = "[ro.boot.wifimacaddr]: [3C:28:6D:12:34:56]\r\n51b6be48bac8c569\r\n"
    path = tmp_path / "powershell.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))  # what PowerShell's `>` writes
    (entry,) = load_identifiers(path)
    assert ("android_id", "51b6be48bac8c569") in _values(entry)


def _with_mac(path: Path, tmp: Path) -> Path:
    """The fixture plus a `cat /sys/class/net/wlan0/address` line, so the dump can be matched."""
    out = tmp / path.name
    out.write_text(path.read_text() + "3c:28:6d:12:34:56\n")
    return out


def test_match_defaults_to_listed_mac(tmp_path: Path) -> None:
    path = tmp_path / "ids.yaml"
    path.write_text("devices:\n  - mac: 3C-28-6D-12-34-56\n    serial: R58M123ABCD\n")
    (entry,) = load_identifiers(path)
    assert entry.device_keys() == (DeviceID(f"mac:{PHONE_MAC}"),)


def test_yaml_keeps_numbers_as_text(tmp_path: Path) -> None:
    path = tmp_path / "ids.yaml"
    # Unquoted, YAML 1.1 would read +447700900123 as an integer and 0770070012 as octal.
    path.write_text(
        "devices:\n  - match: {device: 'mac:3c:28:6d:12:34:56'}\n"
        "    phone: [+447700900123, 0770070012]\n    imei: 490154203237518\n"
    )
    (entry,) = load_identifiers(path)
    assert {v for k, v in _values(entry) if k == "phone"} == {"+447700900123", "0770070012"}
    assert entry.match_ids == (DeviceID("mac:3c:28:6d:12:34:56"),)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("devices: [", r"not valid YAML at line \d+"),
        ("hello: world\n", "not an identifiers file"),
        ("devices: []\n", "'devices' must be a non-empty list"),
        ("devices: {}\nextra: 1\n", "unknown top-level field 'extra'"),
        ("devices:\n  - imie: [490154203237518]\n    mac: 3c286d123456\n", "device 1: unknown field 'imie'"),
        (
            "devices:\n  - name: Phone\n    mac: 3c286d123456\n    imei: [490154203237519]\n",
            r"device 1 \(Phone\): imei 1 \(49\*\*\*\*\*\*19\): fails the IMEI Luhn check",
        ),
        ("devices:\n  - mac: 3c286d1234\n", r"mac 1 \(3c\*\*\*\*\*\*34\): not a MAC address"),
        ("devices:\n  - serial: R58M123ABCD\n", "needs 'match'"),
        ("devices:\n  - match: {mac: 3c286d123456}\n", "no identifiers given"),
        ("devices:\n  - match: {ip: 10.0.0.300}\n    serial: R58M123ABCD\n", "match ip '10.0.0.300'"),
        ("devices:\n  - match: {host: x}\n    serial: R58M123ABCD\n", "'match' must give mac, ip"),
        ("devices:\n  - match: {device: camera}\n    serial: R58M123ABCD\n", "not a device id"),
        ("devices:\n  - mac: 3c286d123456\n    home: {lat: 95, lon: 0}\n", "-90 <= lat <= 90"),
        ("devices:\n  - mac: 3c286d123456\n    home: [51.5, -0.1]\n", "home must be"),
        (
            "devices:\n  - mac: 3c286d123456\n    adb: [missing.txt]\n",
            r"adb file 1 \(missing.txt\) not found",
        ),
        ("devices:\n  - mac: 3c286d123456\n    other: {account: abc}\n", "other account 1"),
        ("devices:\n  - mac: 3c286d123456\n    serial: {a: b}\n", "serial values must be text"),
        ("[ro.product.model]: [Pixel 6]\n[ro.serialno]: [R58M123ABCD]\n", "names no Wi-Fi MAC"),
        ("[ro.product.model]: [Pixel 6]\n", "adb output with no identifier"),
    ],
)
def test_bad_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "ids.yaml"
    path.write_text(content)
    with pytest.raises(UsageError, match=message) as caught:
        load_identifiers(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: ")
    assert "\n" not in text
    assert "490154203237519" not in text  # values are masked in messages


def test_unreadable_paths(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"cannot read"):
        load_identifiers(tmp_path / "absent.yaml")
    with pytest.raises(UsageError, match=r"is a directory"):
        load_identifiers(tmp_path)
    empty = tmp_path / "empty.yaml"
    empty.write_text("\n")
    with pytest.raises(UsageError, match=r"empty file"):
        load_identifiers(empty)
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\x00\x01\x02devices")
    with pytest.raises(UsageError, match=r"binary file"):
        load_identifiers(binary)


def test_repr_masks_values() -> None:
    ident = KnownIdentifier("imei", "490154203237518", "ids.yaml")
    assert "490154203237518" not in repr(ident)
    entry = DeviceIdentifiers("p", (PHONE_MAC,), (), (), (ident,))
    assert "490154203237518" not in repr(entry)


def test_bind_identifiers_by_key_and_by_resolver() -> None:
    a = DeviceIdentifiers("a", (PHONE_MAC,), (), (), (KnownIdentifier("serial", "SERIAL-A1", "x"),))
    b = DeviceIdentifiers("b", (), ("192.168.1.23",), (), (KnownIdentifier("serial", "SERIAL-B2", "x"),))
    plain = bind_identifiers([a, b])
    assert set(plain) == {DeviceID(f"mac:{PHONE_MAC}"), DeviceID("ip:192.168.1.23")}

    def resolve(mac: str | None, ip: str | None) -> DeviceID | None:
        # The audit saw 192.168.1.23 with the phone's MAC: both entries are the same device.
        return DeviceID(f"mac:{PHONE_MAC}") if mac == PHONE_MAC or ip == "192.168.1.23" else None

    merged = bind_identifiers([a, b], resolve)
    assert list(merged) == [DeviceID(f"mac:{PHONE_MAC}")]
    assert {i.value for i in merged[DeviceID(f"mac:{PHONE_MAC}")].identifiers} == {"SERIAL-A1", "SERIAL-B2"}
