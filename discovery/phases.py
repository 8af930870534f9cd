"""The four-phase discovery run of spec §6.4.

1. Known devices on their saved ports: probe with their own type and check the serial.
2. Missing known devices: look for them on the other free ports; a find rebinds them.
3. New devices on the ports nobody claimed: identify, then create (or queue for approval).
4. Finalize: seen devices are active; missing ones back off and are disabled after
   ``max_failures`` scans in a row.

Probing (slow serial I/O) happens outside database transactions; each device's writes are
one short transaction. Ports where a configured device is polled successfully are never
probed, and each port is probed at most once per type per run.

A run belongs to one collector (``SOLARMON_COLLECTOR``): it scans that host's ports, and
verifies, looks for and misses only the devices found by that collector, so a device on
another host is never reported missing here. Devices it configures are that collector's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from catalog.collectors import Owners, ensure_collector
from discovery import services
from discovery.choices import BACKOFF_RESULTS, DiscoveryStatus, ProbeResult
from discovery.conf import DiscoverySettings
from discovery.configure import find_configured
from discovery.models import DeviceDiscovery, PortProbe
from discovery.probing import PortProber, ProbeOutcome
from discovery.report import Action, DiscoveryReport, ReportLine
from discovery.scanning import PortLister, SerialPort, list_ports_for, port_key, system_ports
from discovery.selectors import owned_by, ports_in_use

RESULT_ACTIONS: dict[str, Action] = {ProbeResult.SILENT: Action.SILENT, ProbeResult.GARBAGE: Action.GARBAGE,
                  ProbeResult.UNRECOGNIZED: Action.UNRECOGNIZED, ProbeResult.BUSY: Action.BUSY}


@dataclass
class _Run:
    conf: DiscoverySettings
    now: datetime
    collector: str
    ports: dict[str, SerialPort]
    in_use: dict[str, set[str]]
    respect_port_backoff: bool
    owners: Owners
    # The collector set on adapters it creates; None while it is the only one (implicit).
    assign: str | None = None
    probers: dict[str, PortProber] = field(default_factory=dict)
    lines: dict[str, ReportLine] = field(default_factory=dict)  # by port key
    found: set[str] = field(default_factory=set)  # device ids seen in this run

    def prober(self, port: SerialPort) -> PortProber:
        return self.probers.setdefault(port.key, PortProber(port, self.conf, collector=self.collector))

    def free_ports(self) -> list[SerialPort]:
        """Ports not claimed by a device in this run and not used by a polled device."""
        return [p for p in self.ports.values() if p.key not in self.lines and p.key not in self.in_use]

    def note(self, port: SerialPort, action: Action, outcome: ProbeOutcome | None = None,
             row: DeviceDiscovery | None = None, detail: str = "") -> None:
        line = ReportLine(port=port.path, action=action, detail=detail)
        if outcome is not None:
            line.answered = (f"{outcome.adapter_type}: {outcome.identity.model}" if outcome.identity
                             else outcome.result)
        if row is not None:
            line.device_id, line.serial_number = row.device_id, row.serial_number
        elif outcome is not None and outcome.identity is not None:
            line.serial_number = outcome.identity.serial_number
        self.lines[port.key] = line


def run_discovery(*, port_globs: list[str] | None = None, lister: PortLister | None = system_ports,
                  now: datetime | None = None, respect_port_backoff: bool = True,
                  conf: DiscoverySettings | None = None, collector: str | None = None) -> DiscoveryReport:
    """Run the four phases once, on ``collector``'s ports, and return what happened, port by port.

    ``port_globs`` restricts the run to those paths (``discover --ports``); otherwise the
    system's ports (``lister``, when the settings allow) plus the configured include globs.
    ``collector`` defaults to the one this process runs as.
    """
    conf = conf or DiscoverySettings.load()
    now = now or timezone.now()
    collector = collector or settings.SOLARMON_COLLECTOR
    ensure_collector(collector)
    owners = Owners.load(now, collector)
    if port_globs is not None:
        listing = list_ports_for(port_globs, conf.exclude_globs, lister=None, by_id_dir=conf.by_id_dir)
    else:
        listing = list_ports_for(conf.include_globs, conf.exclude_globs, by_id_dir=conf.by_id_dir,
                                 lister=lister if conf.scan_system_ports else None)
    run = _Run(conf, now, collector, {p.key: p for p in listing}, ports_in_use(now, collector, owners),
               respect_port_backoff, owners, assign=collector if len(owners.collectors) > 1 else None)
    rows = DeviceDiscovery.objects.select_related("adapter").order_by("device_id")
    due = [row for row in rows.filter(status__in=services.TRACKED).filter(
        Q(next_retry_time__isnull=True) | Q(next_retry_time__lte=now)) if owned_by(row, collector, owners)]
    pending = [row for row in rows.filter(status=DiscoveryStatus.PENDING) if owned_by(row, collector, owners)]
    _verify_saved_ports(run, due + pending)
    _search_missing(run, [r for r in due if r.device_id not in run.found])
    _discover_new(run)
    report = DiscoveryReport(started_at=now, lines=[_line(run, port) for port in listing])
    report.lines.extend(_finalize(run, due))
    _record_probes(run, full_scan=port_globs is None)
    return report


# ---- phase 1 ---------------------------------------------------------------------------
def _verify_saved_ports(run: _Run, rows: list[DeviceDiscovery]) -> None:
    for row in rows:
        port = run.ports.get(port_key(row.port))
        if port is None or port.key in run.lines:
            continue
        if port.key in run.in_use:
            if row.adapter_id in run.in_use[port.key]:
                _seen(run, row, port, None, Action.IN_USE, detail="polled successfully")
            continue
        outcome = run.prober(port).identify([row.device_type])
        if _is(outcome, row):
            _seen(run, row, port, outcome,
                  Action.PENDING if row.status == DiscoveryStatus.PENDING else Action.VERIFIED)


# ---- phase 2 ---------------------------------------------------------------------------
def _search_missing(run: _Run, missing: list[DeviceDiscovery]) -> None:
    if not missing:
        return
    wanted = {r.device_type for r in missing}
    types = [t for t in run.conf.probe_order if t in wanted]
    for port in run.free_ports():
        outcome = run.prober(port).identify(types)
        row = next((r for r in missing if _is(outcome, r) and r.device_id not in run.found), None)
        if row is not None:
            _seen(run, row, port, outcome, Action.REBOUND)


# ---- phase 3 ---------------------------------------------------------------------------
def _discover_new(run: _Run) -> None:
    waiting = _ports_waiting(run)
    for port in run.free_ports():
        prober = run.probers.get(port.key)
        if port.key in waiting and not (prober and prober.outcome.identified):
            run.note(port, Action.BACKOFF, detail=f"last {waiting[port.key]}")
            continue
        outcome = run.prober(port).identify(run.conf.probe_order)
        if outcome.identity is None:
            unnamed = [a.detail for a in outcome.attempts if a.result == ProbeResult.UNRECOGNIZED
                       and a.detail.endswith("configure it by hand")]
            run.note(port, RESULT_ACTIONS.get(outcome.result, Action.SILENT), outcome,
                     detail="time budget spent" if outcome.budget_spent else (unnamed[0] if unnamed else ""))
        else:
            _identified(run, port, outcome)


def _identified(run: _Run, port: SerialPort, outcome: ProbeOutcome) -> None:
    assert outcome.identity is not None
    row = DeviceDiscovery.objects.filter(device_type=outcome.adapter_type,
                                         serial_number=outcome.identity.serial_number).first()
    if row is None:
        _new_device(run, port, outcome)
    elif row.device_id in run.found:  # the same serial on two ports: keep the first, configure nothing
        run.note(port, Action.UNRECOGNIZED, outcome, row, detail="serial number already seen on another port")
    elif row.status in (DiscoveryStatus.REJECTED, DiscoveryStatus.DISABLED):
        row.last_seen, row.collector_id = run.now, run.collector  # remembered, never configured again
        row.save(update_fields=["last_seen", "collector", "updated_at"])
        run.note(port, Action(row.status), outcome, row)
    else:
        moved = row.port != port.path
        _seen(run, row, port, outcome, Action.PENDING if row.status == DiscoveryStatus.PENDING
              else Action.REBOUND if moved else Action.VERIFIED)


def _new_device(run: _Run, port: SerialPort, outcome: ProbeOutcome) -> None:
    assert outcome.identity is not None
    configured = find_configured(outcome.adapter_type, outcome.identity.serial_number, port.key,
                                 owned=lambda adapter: run.owners.owner_of(adapter) == run.collector)
    if configured is not None:
        row = services.device_adopted(configured.pk, outcome.adapter_type, outcome.identity,
                                      outcome.config, port.path, run.now, collector=run.collector,
                                      assign=run.assign)
        action = Action.ADOPTED
    else:
        row = services.device_found_new(outcome.adapter_type, outcome.identity, outcome.config, port.path,
                                        run.now, require_approval=run.conf.require_approval,
                                        collector=run.collector, assign=run.assign)
        action = Action.PENDING if row.status == DiscoveryStatus.PENDING else Action.CREATED
    run.found.add(row.device_id)
    run.note(port, action, outcome, row)


# ---- phase 4 ---------------------------------------------------------------------------
def _finalize(run: _Run, due: list[DeviceDiscovery]) -> list[ReportLine]:
    lines = []
    for row in due:
        if row.device_id in run.found:
            continue
        row.refresh_from_db()
        if row.status not in services.TRACKED or row.device_id in run.found:
            continue
        services.device_missed(row, run.now, run.conf)
        detail = (f"miss {row.failure_count} of {run.conf.max_failures}, retry at "
                  f"{row.next_retry_time:%Y-%m-%d %H:%M:%S}Z" if row.next_retry_time else
                  f"missed {row.failure_count} scans: disabled")
        lines.append(ReportLine(port=row.port, device_id=row.device_id, serial_number=row.serial_number,
                                action=Action.MISSING if row.next_retry_time else Action.DISABLED,
                                detail=detail))
    return lines


# ---- helpers ---------------------------------------------------------------------------
def _line(run: _Run, port: SerialPort) -> ReportLine:
    if port.key in run.lines:
        return run.lines[port.key]
    if port.key in run.in_use:
        return ReportLine(port.path, action=Action.IN_USE,
                          detail="polled by " + ", ".join(sorted(run.in_use[port.key])))
    return ReportLine(port.path, action=Action.NOT_PROBED)


def _is(outcome: ProbeOutcome, row: DeviceDiscovery) -> bool:
    return (outcome.identity is not None and outcome.adapter_type == row.device_type
            and outcome.identity.serial_number == row.serial_number)


def _seen(run: _Run, row: DeviceDiscovery, port: SerialPort, outcome: ProbeOutcome | None, action: Action,
          detail: str = "") -> None:
    moved = services.device_seen(row, port.path, run.now, collector=run.collector, assign=run.assign)
    if moved and action == Action.VERIFIED:
        action = Action.REBOUND
    if moved:
        detail = f"was {row.last_known_port}"
    run.found.add(row.device_id)
    run.note(port, action, outcome, row, detail)


def _ports_waiting(run: _Run) -> dict[str, str]:
    """Port key → last result, for ports whose backoff has not run out."""
    if not run.respect_port_backoff:
        return {}
    waiting = PortProbe.objects.filter(collector=run.collector, next_probe_at__gt=run.now)
    return {port_key(p.port): p.last_result for p in waiting}


def _record_probes(run: _Run, *, full_scan: bool) -> None:
    for key, prober in run.probers.items():
        outcome = prober.outcome
        if not outcome.attempts:
            continue
        probe = (PortProbe.objects.filter(collector=run.collector, port=prober.port.path).first()
                 or PortProbe(collector=run.collector, port=prober.port.path))
        backoff = outcome.result in BACKOFF_RESULTS
        probe.strikes = probe.strikes + 1 if backoff else 0
        probe.last_result, probe.detail, probe.last_probe_at = outcome.result, outcome.detail(), run.now
        probe.device_id = run.lines[key].device_id if key in run.lines and outcome.identified else ""
        probe.next_probe_at = (run.now + timedelta(seconds=run.conf.port_delay_s(probe.strikes))
                               if backoff else None)
        probe.save()
    for key in run.in_use:
        if key in run.ports:
            PortProbe.objects.update_or_create(collector=run.collector, port=run.ports[key].path, defaults={
                "last_result": ProbeResult.IN_USE, "strikes": 0, "last_probe_at": run.now,
                "next_probe_at": None, "detail": "a configured device is polled here"})
    if full_scan:
        # A port that went away is forgotten: when something is plugged in again it is probed at once.
        present = {p.path for p in run.ports.values()}
        PortProbe.objects.filter(collector=run.collector).exclude(port__in=present).delete()
