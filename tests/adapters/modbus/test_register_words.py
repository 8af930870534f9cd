"""Raw register words → decoded values, with no simulator and no register map in between.

The words are a device: a real Deye's (from its decoded dump), or written out by hand from
the vendor's register documentation (``reference/protocols.md``). Each expected value is
worked out in a comment from the documented encoding, never from solarmon's own map, so a
wrong address, scale, offset, word order or sign in a map fails here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.iammeter.driver import IammeterDriver
from adapters.modbus.driver import ModbusDriver
from adapters.powdrive.driver import PowdriveDriver
from adapters.registry import config_with_defaults
from adapters.senergy.driver import SenergyDriver
from tests.adapters.capture_files import capture_path
from tests.adapters.modbus.word_server import WordServer

pytestmark = pytest.mark.timeout(30)


def ascii_words(text: str, registers: int) -> dict[int, int]:
    """Offsets 0.. → words of ``text``, two characters per register, high byte first, NUL padded."""
    data = text.encode().ljust(2 * registers, b"\0")
    return {i: data[2 * i] << 8 | data[2 * i + 1] for i in range(registers)}


def at(base: int, words: dict[int, int]) -> dict[int, int]:
    return {base + offset: word for offset, word in words.items()}


def read(driver_class: type[ModbusDriver], adapter_type: str, words: dict[int, int], **config: Any) -> Any:
    framing = "rtu" if config.get("transport") == "rtu_over_tcp" else "mbap"
    with WordServer(words, framing=framing) as server:
        merged = config_with_defaults(adapter_type, {"transport": "tcp", "host": "127.0.0.1",
                                                     "port": server.port, "timeout": 1.0, **config})
        with driver_class(merged) as driver:
            return driver.identify(), driver.read()


# ---- Powdrive / Deye: a real three-phase hybrid ------------------------------------------------
def deye_dump() -> dict[int, Any]:
    """The dump's decoded values by register (``deye/githubDante_deye-controller_examples_all.json``)."""
    data = json.loads(capture_path("deye/githubDante_deye-controller_examples_all.json").read_text())
    return {entry["addr"]: entry["value"] for item in data["data"] for entry in item.values()}


def test_the_deye_dump_words_decode_to_its_stated_values() -> None:
    dump = deye_dump()
    # Each word undone from the dump's stated value with the Deye document's encoding (§1.4).
    words = {
        0: 0x0005,  # device type "Hybrid3Phase" = 0x0005, LV three-phase hybrid
        1: 1,  # modbus address 1
        **at(3, ascii_words("2299999999", 5)),  # serial (the dump's, anonymised), 2 ASCII per register
        500: 2,  # inverter_state 2 (normal)
        514: 59, 515: 128,  # battery charge / discharge today 5.9 / 12.8 kWh in 0.1 kWh
        516: 45593, 517: 0,  # battery charge total 4559.3 kWh, 32-bit, low word first
        518: 43798, 519: 0,  # battery discharge total 4379.8 kWh
        520: 76, 521: 118,  # bought / sold today 7.6 / 11.8 kWh
        522: 46376, 523: 0, 524: 47114, 525: 0,  # bought / sold total 4637.6 / 4711.4 kWh
        526: 8, 527: 2319, 528: 0,  # load today 0.8 kWh, total 231.9 kWh
        529: 0, 534: 11329, 535: 0,  # PV today 0.0 kWh, total 1132.9 kWh
        # Battery temperature: (raw − 1000) × 0.1 °C. The dump shows 13.2, i.e. raw × 0.01 with the
        # offset left out; raw 1320 → 32.0 °C, as the BMS temperature register 217 in the same dump says.
        586: 1320,
        587: 5294,  # battery voltage 52.94 V in 0.01 V
        588: 40,  # SOC 40 %
        590: 0x10000 - 3,  # battery power −3 W, int16 (Deye: − = charging)
        591: 0x10000 - 6,  # battery current −0.06 A in 0.01 A, int16
        598: 2397, 599: 2436, 600: 2418,  # grid L1/L2/L3 239.7 / 243.6 / 241.8 V in 0.1 V
        609: 5000,  # grid frequency 50.00 Hz in 0.01 Hz
        622: 14, 623: 34, 624: 60, 625: 108,  # grid power L1/L2/L3/total 14 / 34 / 60 / 108 W
        650: 14, 651: 12, 652: 11, 653: 37,  # load power L1/L2/L3/total 14 / 12 / 11 / 37 W
        672: 0, 673: 0,  # PV1 / PV2 power 0 W (18:07, dusk)
        676: 149, 677: 0, 678: 136, 679: 0,  # PV1 14.9 V 0.0 A, PV2 13.6 V 0.0 A in 0.1
        # Not in the dump: the heatsink and DC-transformer temperatures, set to 0.0 °C (raw 1000);
        # every other register the driver reads and the dump lacks reads 0. Nothing is asserted on them.
        540: 1000, 541: 1000,
    }
    stated = (dump[587], dump[588], dump[590], dump[591], dump[625], dump[653])
    assert stated == (52.94, 40.0, -3, -0.06, 108, 37)
    identity, reading = read(PowdriveDriver, "powdrive", words)
    assert identity.serial_number == "2299999999"
    assert identity.extra["detected_profile"] == "three-phase"
    # Contract: battery + = charging, so the dump's −3 W / −0.06 A (Deye: − = charging) read +3 / +0.06.
    assert (reading.batt_power_w, reading.batt_current_a) == (3.0, 0.06)
    assert (reading.batt_voltage_v, reading.soc) == (dump[587], dump[588])
    assert reading.grid_power_w == dump[625] == 108  # + = import
    assert reading.load_power_w == dump[653] and reading.pv_power_w == 0.0
    assert (reading.grid_voltage_v, reading.grid_frequency_hz, reading.inverter_mode) == (239.7, 50.0, 2)
    assert (reading.extra["grid_voltage_l2"], reading.extra["grid_voltage_l3"]) == (dump[599], dump[600])
    assert [reading.extra[f"grid_power_l{i}"] for i in (1, 2, 3)] == [dump[622], dump[623], dump[624]]
    assert [reading.extra[f"load_power_l{i}"] for i in (1, 2, 3)] == [dump[650], dump[651], dump[652]]
    assert (reading.extra["pv1_voltage"], reading.extra["pv2_voltage"]) == (dump[676], dump[678])
    assert reading.extra["battery_temp"] == 32.0 == dump[217]
    assert (reading.batt_charge_today_kwh, reading.batt_discharge_today_kwh) == (dump[514], dump[515])
    assert (reading.batt_charge_total_kwh, reading.batt_discharge_total_kwh) == (dump[516], dump[518])
    assert (reading.grid_import_today_kwh, reading.grid_export_today_kwh) == (dump[520], dump[521])
    assert (reading.grid_import_total_kwh, reading.grid_export_total_kwh) == (dump[522], dump[524])
    assert (reading.load_today_kwh, reading.load_total_kwh) == (dump[526], dump[527])
    assert (reading.pv_today_kwh, reading.pv_total_kwh) == (dump[529], dump[534])
    assert reading.flags == []


def test_deye_three_phase_32_bit_values_take_their_high_words() -> None:
    # Deye document §1.4: grid power total = 625 (low) + 690 (high, since V104); totals low word first.
    words = {0: 0x0005, **at(3, ascii_words("AH12345678", 5)), 587: 5120, 588: 50,
             625: 0xFF94, 690: 0xFFFF,  # 0xFFFFFF94 as int32 = −108 W: exporting
             522: 0x1234, 523: 0x0001,  # 0x00011234 = 70196 → 7019.6 kWh bought
             540: 1000, 541: 1000}
    _, reading = read(PowdriveDriver, "powdrive", words)
    assert reading.grid_power_w == -108.0
    assert reading.grid_import_total_kwh == 7019.6


def test_deye_three_phase_pv_power_in_10_w_counts_where_the_model_says_so() -> None:
    # The dump's source notes a PV power register counting 10 W per unit on that model.
    words = {0: 0x0005, **at(3, ascii_words("AH12345678", 5)), 587: 5120, 588: 50, 540: 1000, 541: 1000,
             672: 150, 673: 25}  # PV1 150, PV2 25 counts
    assert read(PowdriveDriver, "powdrive", words)[1].pv_power_w == 175.0
    assert read(PowdriveDriver, "powdrive", words, pv_power_scale=10)[1].pv_power_w == 1750.0


def test_deye_single_phase_words_from_the_register_document() -> None:
    # Deye single-phase hybrid, §1.3. Every value below is worked out from its register's encoding.
    words = {
        0: 0x0300,  # single-phase hybrid
        **at(3, ascii_words("AH12345678", 5)),
        16: 50000, 17: 0,  # rated power 5000 W: u32 low word first, 0.1 W
        59: 2,  # running state normal
        186: 1500, 187: 1234, 188: 0, 189: 0,  # PV1..4 power → PV 2734 W
        109: 3805, 110: 39, 111: 3712, 112: 33,  # PV1 380.5 V 3.9 A, PV2 371.2 V 3.3 A
        178: 1800,  # load 1800 W (int16)
        169: 0x10000 - 600,  # grid −600 W (int16): exporting
        150: 2312,  # grid 231.2 V
        79: 4998,  # grid 49.98 Hz, between the two words of the import total
        175: 2400,  # inverter power 2400 W
        182: 1254,  # battery temperature (1254 − 1000) × 0.1 = 25.4 °C
        183: 5321, 184: 67,  # battery 53.21 V, SOC 67 %
        190: 0x10000 - 200,  # battery −200 W (Deye: − = charging) → +200 W charging
        191: 0x10000 - 375,  # battery −3.75 A → +3.75 A charging
        90: 1305, 91: 1412,  # DC transformer 30.5 °C, heatsink 41.2 °C
        70: 123, 71: 45,  # battery charge / discharge today 12.3 / 4.5 kWh
        72: 8000, 73: 2,  # battery charge total (2 × 65536 + 8000) × 0.1 = 13907.2 kWh
        74: 4000, 75: 2,  # battery discharge total 13507.2 kWh
        76: 88, 77: 156,  # bought / sold today 8.8 / 15.6 kWh
        78: 34464, 80: 1,  # bought total: low word 78, high word 80 (79 is the frequency):
        #                    (65536 + 34464) × 0.1 = 10000.0 kWh
        81: 20000, 82: 1,  # sold total (65536 + 20000) × 0.1 = 8553.6 kWh
        84: 201, 85: 30000, 86: 0,  # load today 20.1 kWh, total 3000.0 kWh
        96: 50000, 97: 1,  # PV total (65536 + 50000) × 0.1 = 11553.6 kWh
        108: 305,  # PV today 30.5 kWh
    }
    identity, r = read(PowdriveDriver, "powdrive", words)
    assert (identity.extra["detected_profile"], identity.extra["rated_power_w"]) == ("single-phase", 5000.0)
    assert (r.pv_power_w, r.load_power_w, r.grid_power_w) == (2734.0, 1800.0, -600.0)
    assert (r.batt_power_w, r.batt_current_a, r.batt_voltage_v, r.soc) == (200.0, 3.75, 53.21, 67.0)
    assert (r.grid_voltage_v, r.grid_frequency_hz) == (231.2, 49.98)
    assert (r.inverter_mode, r.inverter_temp_c) == (2, 41.2)
    extra = r.extra
    assert (extra["battery_temp"], extra["dc_transformer_temp"]) == (25.4, 30.5)
    assert extra["inverter_power"] == 2400
    assert (extra["pv1_voltage"], extra["pv1_current"], extra["pv2_voltage"], extra["pv2_current"]) == (
        380.5, 3.9, 371.2, 3.3)
    assert (r.batt_charge_today_kwh, r.batt_discharge_today_kwh) == (12.3, 4.5)
    assert (r.batt_charge_total_kwh, r.batt_discharge_total_kwh) == (13907.2, 13507.2)
    assert (r.grid_import_today_kwh, r.grid_export_today_kwh) == (8.8, 15.6)
    assert (r.grid_import_total_kwh, r.grid_export_total_kwh) == (10000.0, 8553.6)
    assert (r.load_today_kwh, r.load_total_kwh) == (20.1, 3000.0)
    assert (r.pv_today_kwh, r.pv_total_kwh) == (30.5, 11553.6)


# ---- Senergy: words by hand from the one register transcription (protocols.md §2) -------------
def test_senergy_words_from_the_register_transcription() -> None:
    words = {
        **at(0x1A00, ascii_words("SE 6KW", 8)), **at(0x1A10, ascii_words("SE6K2024B0000042", 8)),
        0x1A18: 0x0103, 0x1A3B: 2, 0x1A46: 6000, 0x1A48: 1,  # protocol, MPPTs, rated 6000 W, 1 phase
        0x1001: 2304, 0x1002: 1234,  # phase A 230.4 V (0.1 V), 12.34 A (0.01 A)
        0x1003: 0x0000, 0x1004: 28400,  # phase A power S32 high word first, 0.1 W → 2840.0 W
        0x1005: 5002,  # phase A 50.02 Hz
        0x1010: 3650, 0x1011: 812, 0x1012: 0, 0x1013: 24000,  # PV1 365.0 V, 8.12 A, 2400.0 W (U32, 0.1 W)
        0x1014: 3120, 0x1015: 420, 0x1016: 0, 0x1017: 10000,  # PV2 312.0 V, 4.20 A, 1000.0 W
        0x101C: 41, 0x101D: 2,  # inner temperature 41 °C (S16), mode 2
        0x1021: 0x0000, 0x1022: 12500,  # total energy 12500 kWh (read as PV)
        0x1027: 0x0000, 0x1028: 20000,  # today 20000 Wh → 20.0 kWh
        0x1300: 0xFFFF, 0x1301: 0x10000 - 6000,  # grid R: 0xFFFFE890 = −6000 → −600.0 W (export)
        0x1306: 0x0002, 0x1307: 0x49F0,  # grid + energy (2 × 65536 + 18928) × 10 Wh = 1500.00 kWh
        0x1308: 0x0001, 0x1309: 0x3880,  # grid − energy (65536 + 14464) × 10 Wh = 800.00 kWh
        0x130A: 0, 0x130B: 18000,  # load R 1800.0 W
        0x1310: 0, 0x1311: 50000,  # load energy total 500.00 kWh
        # today's import / export / load: 8.80 / 15.60 / 20.10 kWh
        0x1332: 0, 0x1333: 880, 0x1334: 0, 0x1335: 1560, 0x1336: 0, 0x1337: 2010,
        0x1338: 5002,  # grid 50.02 Hz
        0x2000: 67, 0x2001: 24,  # SOC 67 %, battery 24 °C
        0x2006: 532,  # battery 53.2 V (0.1 V)
        0x2007: 0, 0x2008: 1880,  # battery current S32 0.01 A, + while charging → 18.80 A
        0x2009: 0xFFFF, 0x200A: 0x10000 - 10000,  # battery power −10000 × 0.1 = −1000.0 W, − while charging
        0x200B: 0, 0x200C: 1230,  # charged today 12.30 kWh
        0x200D: 0x0001, 0x200E: 0,  # charged total 65536 × 10 Wh = 655.36 kWh
        0x200F: 0, 0x2010: 450, 0x2011: 0, 0x2012: 60000,  # discharged today 4.50, total 600.00 kWh
    }
    identity, r = read(SenergyDriver, "senergy", words)
    assert (identity.serial_number, identity.model, identity.extra["rated_power_w"]) == (
        "SE6K2024B0000042", "SE 6KW", 6000.0)
    assert (r.pv_power_w, r.load_power_w, r.grid_power_w) == (3400.0, 1800.0, -600.0)
    assert (r.batt_power_w, r.batt_current_a) == (1000.0, 18.8)  # contract: + = charging
    assert (r.batt_voltage_v, r.soc, r.extra["battery_temp"]) == (53.2, 67.0, 24.0)
    assert (r.grid_voltage_v, r.grid_frequency_hz) == (230.4, 50.02)
    assert (r.inverter_mode, r.inverter_temp_c) == (2, 41.0)
    extra = r.extra
    assert (extra["pv1_voltage"], extra["pv1_current"], extra["pv2_voltage"], extra["pv2_current"]) == (
        365.0, 8.12, 312.0, 4.2)
    assert r.extra["active_power"] == 0.0  # 0x1037 left at 0 on purpose: not the phase A power
    assert (r.pv_total_kwh, r.pv_today_kwh) == (12500.0, 20.0)
    assert (r.grid_import_total_kwh, r.grid_export_total_kwh) == (1500.0, 800.0)
    assert (r.grid_import_today_kwh, r.grid_export_today_kwh, r.load_today_kwh) == (8.8, 15.6, 20.1)
    assert r.load_total_kwh == 500.0
    assert (r.batt_charge_today_kwh, r.batt_charge_total_kwh) == (12.3, 655.36)
    assert (r.batt_discharge_today_kwh, r.batt_discharge_total_kwh) == (4.5, 600.0)


# ---- IAMMeter: words by hand from the official integration and the RS485 document (§5) --------
IAM_SERIAL = at(56, ascii_words("IAM000123456789X", 8))


def test_iammeter_wem3080t_tcp_words() -> None:
    words = {
        **IAM_SERIAL,
        0: 23012, 1: 523,  # phase A 230.12 V, 5.23 A (0.01)
        2: 0xFFFF, 3: 0x10000 - 1203,  # phase A power S32 high word first: −1203 W (export)
        4: 0x0001, 5: 0x86A0,  # phase A import 100000 / 800 = 125.0 kWh
        6: 0x0000, 7: 0x61A8,  # phase A export 25000 / 800 = 31.25 kWh
        8: 981,  # phase A power factor 0.981
        10: 23105, 11: 210, 12: 0, 13: 450, 18: 995,  # phase B 231.05 V, 2.10 A, 450 W, PF 0.995
        20: 22987, 21: 100, 22: 0, 23: 210, 28: 900,  # phase C 229.87 V, 1.00 A, 210 W, PF 0.9
        30: 5001,  # 50.01 Hz
        32: 0xFFFF, 33: 0x10000 - 543,  # total power −543 W (= −1203 + 450 + 210)
        34: 0x0003, 35: 0x0D40,  # total import (3 × 65536 + 3392) / 800 = 250.0 kWh
        36: 0x0000, 37: 0xC350,  # total export 50000 / 800 = 62.5 kWh
    }
    identity, r = read(IammeterDriver, "iammeter", words, model="WEM3080T")
    assert identity.serial_number == "IAM000123456789X"
    assert (r.grid_power_w, r.grid_import_wh, r.grid_export_wh) == (-543.0, 250000.0, 62500.0)
    assert r.energy_kwh == 250.0
    assert (r.grid_voltage_v, r.grid_current_a) == (230.12, 5.23)
    assert (r.grid_frequency_hz, r.power_factor) == (50.01, 0.981)
    assert (r.voltage_phase_a, r.voltage_phase_b, r.voltage_phase_c) == (230.12, 231.05, 229.87)
    assert (r.current_phase_a, r.current_phase_b, r.current_phase_c) == (5.23, 2.1, 1.0)
    assert (r.power_phase_a, r.power_phase_b, r.power_phase_c) == (-1203.0, 450.0, 210.0)


def test_iammeter_wem3080_tcp_words() -> None:
    words = {**IAM_SERIAL, 0: 23012, 1: 523, 2: 0xFFFF, 3: 0x10000 - 1203,
             4: 0x0001, 5: 0x86A0,  # import 100000 / 3200 = 31.25 kWh (single-phase: 1/3200 kWh)
             6: 0x0000, 7: 0x61A8}  # export 25000 / 3200 = 7.8125 kWh
    _, r = read(IammeterDriver, "iammeter", words, model="WEM3080")
    assert (r.grid_power_w, r.grid_voltage_v, r.grid_current_a) == (-1203.0, 230.12, 5.23)
    assert (r.grid_import_wh, r.grid_export_wh) == (31250.0, 7812.5)


def test_iammeter_wem3080t_rs485_words() -> None:
    # RS485 map: phase blocks at 0x48 / 0x51 / 0x5A; power is a magnitude and the direction
    # register's high byte gives its sign (0 forward = import, 1 reverse = export).
    words = {
        **IAM_SERIAL,
        **at(0x48, {0: 23012, 1: 523, 2: 1203, 3: 0x0001, 4: 0x86A0, 5: 981, 6: 0, 7: 0x61A8, 8: 0x0100}),
        **at(0x51, {0: 23105, 1: 210, 2: 450, 5: 995, 8: 0x0000}),
        **at(0x5A, {0: 22987, 1: 100, 2: 210, 5: 900, 8: 0x0000}),
        0x63: 0x0003, 0x64: 0x0D40,  # total forward (import) 250.0 kWh
        0x65: 5001,  # 50.01 Hz
        0x66: 0x0000, 0x67: 0xC350,  # total reverse (export) 62.5 kWh
    }
    _, r = read(IammeterDriver, "iammeter", words, model="WEM3080T", transport="rtu_over_tcp")
    assert (r.power_phase_a, r.power_phase_b, r.power_phase_c) == (-1203.0, 450.0, 210.0)  # A reverse
    assert r.grid_power_w == -543.0  # the signed phases' sum
    assert (r.grid_import_wh, r.grid_export_wh, r.grid_frequency_hz) == (250000.0, 62500.0, 50.01)
    assert (r.voltage_phase_b, r.current_phase_c, r.power_factor) == (231.05, 1.0, 0.981)
