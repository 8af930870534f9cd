"""A simulated solar + storage installation, the single source of truth for simulators.

The plant is defined on a one-minute grid of knots. Between knots every power is linear,
so the exact energy between any two instants is a closed-form trapezoid: the counters
the simulators report are exact, and tests can compare rollups with the truth.

Signs follow the contract: battery power > 0 charges, grid power > 0 imports, and the
grid is the balance ``grid = load + battery - pv``.
"""

from __future__ import annotations

import bisect
import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

KNOT_S = 60.0


@dataclass(frozen=True)
class PlantParams:
    """Size and behaviour of a simulated installation."""

    pv_peak_w: float = 6000.0
    base_load_w: float = 450.0
    evening_load_w: float = 1800.0
    battery_kwh: float = 10.0
    max_charge_w: float = 3000.0
    max_discharge_w: float = 3000.0
    min_soc: float = 10.0
    max_soc: float = 100.0
    initial_soc: float = 55.0
    sunrise_h: float = 6.0
    sunset_h: float = 18.5
    utc_offset_h: float = 5.0  # local solar time of the simulated site (Asia/Karachi)
    seed: int = 1


@dataclass(frozen=True)
class PlantState:
    """Instantaneous values and exact lifetime counters at one instant."""

    ts: datetime
    pv_w: float
    load_w: float
    battery_w: float
    grid_w: float
    soc: float
    pv_kwh: float
    load_kwh: float
    charge_kwh: float
    discharge_kwh: float
    import_kwh: float
    export_kwh: float


class Plant:
    """Deterministic plant: the same params and start give the same day, every time.

    ``clock`` returns the current time; the default is the wall clock, tests pass a
    controllable one.
    """

    def __init__(self, params: PlantParams | None = None, *, start: datetime | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.params = params or PlantParams()
        self.clock = clock or (lambda: datetime.now(UTC))
        origin = start or self.clock() - timedelta(hours=1)
        self.origin = origin.replace(second=0, microsecond=0)
        self._rng = random.Random(self.params.seed)
        self._t: list[float] = []  # seconds since origin
        self._pv: list[float] = []
        self._load: list[float] = []
        self._batt: list[float] = []
        self._soc: list[float] = []
        # cumulative kWh at each knot: pv, load, charge, discharge, import, export
        self._cum: list[tuple[float, float, float, float, float, float]] = []
        self._cloud = 1.0
        # Simulators answer from several threads; extending the knot lists must not interleave.
        self._lock = threading.RLock()
        self._append_knot(0.0, self.params.initial_soc, (0.0,) * 6)

    # ---- model -------------------------------------------------------------------
    def _solar_hour(self, offset_s: float) -> float:
        utc = self.origin + timedelta(seconds=offset_s)
        return (utc.hour + utc.minute / 60 + self.params.utc_offset_h) % 24

    def _pv_at(self, offset_s: float) -> float:
        p = self.params
        h = self._solar_hour(offset_s)
        if not p.sunrise_h < h < p.sunset_h:
            return 0.0
        shape = math.sin(math.pi * (h - p.sunrise_h) / (p.sunset_h - p.sunrise_h)) ** 1.5
        # Passing clouds: a slow random walk between 40 % and 100 % of clear sky.
        self._cloud = min(1.0, max(0.4, self._cloud + self._rng.uniform(-0.08, 0.08)))
        return round(p.pv_peak_w * shape * self._cloud, 1)

    def _load_at(self, offset_s: float) -> float:
        p = self.params
        h = self._solar_hour(offset_s)
        evening = p.evening_load_w * math.exp(-((h - 20.0) ** 2) / 4.0)
        morning = 0.5 * p.evening_load_w * math.exp(-((h - 7.5) ** 2) / 1.5)
        spike = 1500.0 if self._rng.random() < 0.03 else 0.0  # a kettle, a pump
        return round(p.base_load_w + evening + morning + spike, 1)

    def _battery_for(self, pv: float, load: float, soc: float) -> float:
        p = self.params
        surplus = pv - load
        if surplus > 0:
            return min(surplus, p.max_charge_w) if soc < p.max_soc else 0.0
        return max(surplus, -p.max_discharge_w) if soc > p.min_soc else 0.0

    def _append_knot(self, t: float, soc: float, cum: tuple[float, ...]) -> None:
        pv, load = self._pv_at(t), self._load_at(t)
        batt = self._battery_for(pv, load, soc)
        self._t.append(t)
        self._pv.append(pv)
        self._load.append(load)
        self._batt.append(batt)
        self._soc.append(soc)
        self._cum.append(tuple(cum))  # type: ignore[arg-type]

    def _extend_to(self, t: float) -> None:
        while self._t[-1] < t:
            i = len(self._t) - 1
            t1 = self._t[i] + KNOT_S
            # The battery power is held linear only between knots of the same sign; the
            # SOC follows the exact integral of it.
            pv1, load1 = self._pv_at(t1), self._load_at(t1)
            e = [_trap(a, b, KNOT_S) for a, b in ((self._pv[i], pv1), (self._load[i], load1))]
            batt0 = self._batt[i]
            soc = self._soc[i] + 100.0 * (batt0 * KNOT_S / 3.6e6) / self.params.battery_kwh
            soc = min(self.params.max_soc, max(0.0, soc))
            batt1 = self._battery_for(pv1, load1, soc)
            grid0 = self._load[i] + batt0 - self._pv[i]
            grid1 = load1 + batt1 - pv1
            chg, dis = _split_trap(batt0, batt1, KNOT_S)
            imp, exp = _split_trap(grid0, grid1, KNOT_S)
            prev = self._cum[i]
            cum = (prev[0] + e[0], prev[1] + e[1], prev[2] + chg, prev[3] + dis,
                   prev[4] + imp, prev[5] + exp)
            self._t.append(t1)
            self._pv.append(pv1)
            self._load.append(load1)
            self._batt.append(batt1)
            self._soc.append(soc)
            self._cum.append(cum)

    # ---- queries -----------------------------------------------------------------
    def state(self, ts: datetime | None = None) -> PlantState:
        """The plant at ``ts`` (default: the clock's now)."""
        with self._lock:
            return self._state(ts or self.clock())

    def _state(self, ts: datetime) -> PlantState:
        t = max(0.0, (ts - self.origin).total_seconds())
        self._extend_to(t + KNOT_S)
        i = max(0, bisect.bisect_right(self._t, t) - 1)
        frac = (t - self._t[i]) / KNOT_S
        dt = t - self._t[i]

        def lin(series: list[float]) -> float:
            return series[i] + (series[i + 1] - series[i]) * frac

        pv, load, batt = lin(self._pv), lin(self._load), lin(self._batt)
        grid0 = self._load[i] + self._batt[i] - self._pv[i]
        grid = load + batt - pv
        chg, dis = _split_trap(self._batt[i], batt, dt)
        imp, exp = _split_trap(grid0, grid, dt)
        c = self._cum[i]
        soc = self._soc[i] + 100.0 * ((self._batt[i] + batt) / 2 * dt / 3.6e6) / self.params.battery_kwh
        return PlantState(
            ts=ts, pv_w=pv, load_w=load, battery_w=batt, grid_w=grid,
            soc=min(100.0, max(0.0, soc)),
            pv_kwh=c[0] + _trap(self._pv[i], pv, dt), load_kwh=c[1] + _trap(self._load[i], load, dt),
            charge_kwh=c[2] + chg, discharge_kwh=c[3] + dis,
            import_kwh=c[4] + imp, export_kwh=c[5] + exp,
        )

    def energy_between(self, start: datetime, end: datetime) -> dict[str, float]:
        """Exact energy (kWh) of each flow between two instants: the ground truth."""
        a, b = self.state(start), self.state(end)
        return {
            "pv": b.pv_kwh - a.pv_kwh, "load": b.load_kwh - a.load_kwh,
            "charge": b.charge_kwh - a.charge_kwh, "discharge": b.discharge_kwh - a.discharge_kwh,
            "import": b.import_kwh - a.import_kwh, "export": b.export_kwh - a.export_kwh,
        }


def _trap(a: float, b: float, dt: float) -> float:
    """kWh of a linear ramp from ``a`` W to ``b`` W over ``dt`` seconds."""
    return (a + b) / 2 * dt / 3.6e6


def _split_trap(a: float, b: float, dt: float) -> tuple[float, float]:
    """kWh of a linear ramp split into its positive and negative parts (both >= 0)."""
    if dt <= 0:
        return 0.0, 0.0
    if a >= 0 and b >= 0:
        return _trap(a, b, dt), 0.0
    if a <= 0 and b <= 0:
        return 0.0, -_trap(a, b, dt)
    zero = dt * a / (a - b)  # where the ramp crosses zero
    first, second = _trap(a, 0.0, zero), _trap(0.0, b, dt - zero)
    return (first, -second) if a > 0 else (second, -first)


class PlantSum:
    """Several plants seen through one meter: flows add up, SOC averages.

    A system-level meter simulator serves a ``PlantSum`` of every inverter's plant, so the
    meter's grid power is exactly the sum of the inverters' grid flows. Its import and export
    counters integrate the *net* grid flow (one plant exporting while another imports nets
    out at the meter), exactly, on the members' shared knot grid: members must share an origin.
    """

    def __init__(self, plants: list[Plant]) -> None:
        if not plants or len({p.origin for p in plants}) != 1:
            raise ValueError("a plant sum needs one or more plants with the same origin")
        self.plants = plants
        self.params = plants[0].params
        self.clock = plants[0].clock
        self.origin = plants[0].origin
        self._lock = threading.RLock()
        self._cum: list[tuple[float, float]] = [(0.0, 0.0)]  # net import, export kWh at each knot

    def _grid_at_knot(self, i: int) -> float:
        return sum(p._load[i] + p._batt[i] - p._pv[i] for p in self.plants)

    def _net_counters(self, t: float) -> tuple[float, float]:
        for plant in self.plants:
            with plant._lock:
                plant._extend_to(t + KNOT_S)
        i = int(t // KNOT_S)
        while len(self._cum) <= i:
            k = len(self._cum) - 1
            imp, exp = _split_trap(self._grid_at_knot(k), self._grid_at_knot(k + 1), KNOT_S)
            self._cum.append((self._cum[k][0] + imp, self._cum[k][1] + exp))
        dt = t - i * KNOT_S
        g0, g1 = self._grid_at_knot(i), self._grid_at_knot(i + 1)
        imp, exp = _split_trap(g0, g0 + (g1 - g0) * dt / KNOT_S, dt)
        return self._cum[i][0] + imp, self._cum[i][1] + exp

    def state(self, ts: datetime | None = None) -> PlantState:
        ts = ts or self.clock()
        states = [p.state(ts) for p in self.plants]

        def total(name: str) -> float:
            return sum(getattr(s, name) for s in states)

        with self._lock:
            imp, exp = self._net_counters(max(0.0, (ts - self.origin).total_seconds()))
        return PlantState(
            ts=ts, pv_w=total("pv_w"), load_w=total("load_w"), battery_w=total("battery_w"),
            grid_w=total("grid_w"), soc=total("soc") / len(states), pv_kwh=total("pv_kwh"),
            load_kwh=total("load_kwh"), charge_kwh=total("charge_kwh"),
            discharge_kwh=total("discharge_kwh"), import_kwh=imp, export_kwh=exp)

    def energy_between(self, start: datetime, end: datetime) -> dict[str, float]:
        a, b = self.state(start), self.state(end)
        return {
            "pv": b.pv_kwh - a.pv_kwh, "load": b.load_kwh - a.load_kwh,
            "charge": b.charge_kwh - a.charge_kwh, "discharge": b.discharge_kwh - a.discharge_kwh,
            "import": b.import_kwh - a.import_kwh, "export": b.export_kwh - a.export_kwh,
        }
