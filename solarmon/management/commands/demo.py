"""``manage.py demo``: the whole monitor in the foreground — simulators, worker with beat, web server.

On an empty database it imports ``examples/config.yaml`` (unless ``SOLARMON_CONFIG`` names a
real configuration file, which wins) and runs simulators for it on loopback. Against a real
installation (``SOLARMON_SIMULATE=0``, or a database that the demo did not create) it starts
only the worker, beat and the web server (gunicorn). Each part is restarted on its own when it
exits (solarmon.supervise); Ctrl-C or SIGTERM stops every process cleanly.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from aggregation.diskguard import full_disk_problem
from aggregation.rollups import rollup_day
from catalog import models as catalog
from discovery.tasks import queue_startup_discovery
from solarmon.demo import DemoPlants, DemoRig, seed_history
from solarmon.management.commands.serve import gunicorn_argv
from solarmon.schedule import install_beat_schedule
from solarmon.supervise import Supervisor, die_with_parent

EXAMPLE = Path(settings.BASE_DIR) / "examples" / "config.yaml"


def _marker() -> Path:
    return Path(settings.DATA_DIR) / "demo.json"


class Command(BaseCommand):
    help = "Run simulators (for a demo installation), the Celery worker, beat, and the web server."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-web", action="store_true", help="do not start the web server")
        parser.add_argument("--no-worker", action="store_true", help="do not start the Celery worker")

    def handle(self, *args: Any, **options: Any) -> None:
        # Stopping `make run` (its parent) stops the demo, which stops every part.
        die_with_parent()
        if problem := full_disk_problem():
            raise CommandError(problem)
        self.seed_history = False
        simulate = self._prepare_configuration()
        rig: DemoRig | None = None
        env = dict(os.environ)
        if simulate:
            origin = datetime.fromisoformat(json.loads(_marker().read_text())["origin"])
            rig = DemoRig(origin)
            self.stdout.write("simulated devices:")
            for line in rig.start():
                self.stdout.write(line)
            env["SOLARMON_SIMULATE_BLE"] = "1"
            env["SOLARMON_DEMO_ORIGIN"] = origin.isoformat()
        install_beat_schedule()
        supervisor = self._start_parts(env, options)
        if "worker" in supervisor.parts:
            # Look for USB devices now rather than at the first beat period.
            queue_startup_discovery()
        if self.seed_history:
            # After the live polls have started: the past fills in while the present shows.
            self._seed_demo_history()
        stop = {"now": False}

        def _on_signal(signum: int, frame: FrameType | None) -> None:
            stop["now"] = True

        signal.signal(signal.SIGINT, _on_signal)
        signal.signal(signal.SIGTERM, _on_signal)
        try:
            while not stop["now"]:
                supervisor.check()
                time.sleep(0.5)
        finally:
            supervisor.stop()
            if rig is not None:
                rig.stop()
            self.stdout.write("solarmon stopped")

    def _prepare_configuration(self) -> bool:
        """Seed an empty database; return whether to run simulators."""
        wanted = os.environ.get("SOLARMON_SIMULATE", "auto").lower()
        if wanted in ("0", "false", "no"):
            call_command("first_start", stdout=self.stdout)
            return False
        if not catalog.System.objects.exists() and not Path(settings.SOLARMON_CONFIG).exists():
            self.stdout.write(f"empty database: importing the demo installation from {EXAMPLE}")
            call_command("import_yaml", str(EXAMPLE), stdout=self.stdout)
            tz = ZoneInfo(catalog.System.objects.get().timezone)
            today = datetime.now(UTC).astimezone(tz).date()
            origin = datetime.combine(today, datetime.min.time(), tzinfo=tz).astimezone(UTC)
            _marker().write_text(json.dumps({"origin": origin.isoformat()}))
            self.seed_history = True
        else:
            call_command("first_start", stdout=self.stdout)
        if _marker().exists():
            return True
        if wanted in ("1", "true", "yes"):
            origin = (datetime.now(UTC) - timedelta(hours=2)).replace(second=0, microsecond=0)
            _marker().write_text(json.dumps({"origin": origin.isoformat()}))
            return True
        self.stdout.write("a real configuration exists: starting without simulators")
        return False

    def _seed_demo_history(self) -> None:
        """Give the demo a past: today's samples since local midnight, rolled up, so the energy
        totals and charts show data at once. Every 15 s, close enough for the rollups to
        bridge (they bridge gaps of up to three poll intervals)."""
        origin = datetime.fromisoformat(json.loads(_marker().read_text())["origin"])
        system = catalog.System.objects.get()
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        self.stdout.write("writing today's history of the simulated installation ...")
        rows = seed_history(DemoPlants(origin), origin, now - timedelta(minutes=1), step_s=15)
        rollup_day(system.pk, now.astimezone(ZoneInfo(system.timezone)).date())
        self.stdout.write(f"  {rows} sample rows since local midnight, rolled up")

    def _start_parts(self, env: dict[str, str], options: dict[str, Any]) -> Supervisor:
        """Worker, beat and web server, each supervised on its own (solarmon.supervise)."""
        supervisor = Supervisor(env, str(settings.BASE_DIR), lambda line: self.stdout.write(line))
        python = sys.executable
        if not options["no_worker"]:
            # Threads, not processes: one process keeps each serial port open once and
            # shares it between polls (a port is opened exclusively, so two processes
            # could not both hold it). Every driver bounds its own time.
            supervisor.add("worker", [
                python, "-m", "celery", "-A", "solarmon", "worker", "--loglevel", "INFO",
                "--pool", "threads", "--concurrency", str(os.environ.get("SOLARMON_WORKERS", "4")),
                "--without-gossip", "--without-mingle"])
            # Beat on its own: a second beat refuses to start (solarmon.beat), so a restart
            # never leaves two dispatching.
            supervisor.add("beat", [python, "-m", "celery", "-A", "solarmon", "beat", "--loglevel", "INFO"])
        if not options["no_web"]:
            self.stdout.write(f"solarmon: http://{settings.SOLARMON_BIND}:{settings.SOLARMON_PORT}/  "
                              "(configuration: /admin/, API: /api/)")
            supervisor.add("web server", gunicorn_argv(settings.SOLARMON_BIND, settings.SOLARMON_PORT))
        return supervisor
