"""What the poll path keeps per worker process (the rules, a mirror of the watches), how stale
it may be, and what a poll costs when nothing changes.

Two worker processes are played in one: ``processes("b")`` makes the poll path use a second
view that, like another process, learns of the first one's changes only from the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from alerts import evaluation
from alerts.models import Alert, AlertRule, AlertWatch
from telemetry import ingest
from telemetry import models as t
from tests import factories as f
from tests.alerts.conftest import rule

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    """The poll path's monotonic clock, moved by hand (rules and watches are read again when
    it has moved on by more than RECHECK_S)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    found = Clock()
    monkeypatch.setattr(evaluation, "_clock", found)
    return found


@pytest.fixture
def processes(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    views = {"a": evaluation._MIRROR, "b": evaluation._Mirror()}

    def use(name: str) -> None:
        monkeypatch.setattr(evaluation, "_MIRROR", views[name])
    return use


@pytest.fixture
def poll(django_capture_on_commit_callbacks: Any) -> Iterator[Callable[..., None]]:
    """Write one poll of a pack of four cells, the lowest ``spread_mv`` below the others; the
    on-commit callbacks (``samples_written``) run as in production."""
    f.pack("pack1", f.battery_array("battery_array1", f.system("system", timezone="UTC")), batteries=1,
           cells=4)

    def write(at: datetime, spread_mv: float) -> None:
        scope = {"pack_id": "pack1", "battery_array_id": "battery_array1", "system_id": "system"}
        rows: list[Any] = [t.BatteryBankSample(ts=at, soc=60.0, current=-5.0, temperature=20.0, **scope)]
        rows += [t.BatteryCellSample(ts=at, cell_ref_id=f"pack1_b0_c{i}", battery_id="pack1_b0", power=1,
                                     cell=i, voltage=3.30 - (spread_mv / 1000 if i == 2 else 0),
                                     temperature=20.0, **scope) for i in range(4)]
        with django_capture_on_commit_callbacks(execute=True):
            ingest.write_rows(rows)
    yield write


def alert_statements(ctx: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if "alert" in q["sql"]]


def test_an_active_alert_whose_condition_holds_costs_no_statement_per_poll(
        poll: Callable[..., None], clock: Clock) -> None:
    rule("cell-spread", raise_after_s=0, clear_after_s=0)
    poll(T0, 80.0)
    alert = Alert.objects.get(rule__key="cell-spread", state="active")
    for n in range(1, 4):
        clock.now += 0.5  # within the recheck time: nothing is read again
        with CaptureQueriesContext(connection) as ctx:
            poll(T0 + timedelta(seconds=5 * n), 80.0 + 10 * n)
        assert alert_statements(ctx) == []
        assert ctx.captured_queries  # the poll's own rows were written
    alert.refresh_from_db()
    assert alert.state == "active" and alert.values["spread_mv"] == 80.0  # the values that raised it
    assert Alert.objects.count() == 1


def test_a_poll_with_nothing_wrong_costs_no_statement(poll: Callable[..., None], clock: Clock) -> None:
    poll(T0, 5.0)
    clock.now += 1.0
    with CaptureQueriesContext(connection) as ctx:
        poll(T0 + timedelta(seconds=5), 5.0)
    assert alert_statements(ctx) == []
    assert not AlertWatch.objects.exists()


def test_a_pending_condition_started_in_one_process_is_honoured_by_another(
        poll: Callable[..., None], clock: Clock, processes: Callable[[str], None]) -> None:
    rule("cell-spread", raise_after_s=60, clear_after_s=0)
    processes("b")
    poll(T0 - timedelta(seconds=5), 5.0)  # b has read rules and watches: nothing in progress
    processes("a")
    poll(T0, 80.0)  # the condition starts in a
    assert AlertWatch.objects.get().since == T0
    processes("b")
    clock.now += 1.0  # b's view is older than a's change and not yet due to be read again
    poll(T0 + timedelta(seconds=30), 80.0)
    assert not Alert.objects.exists()
    clock.now += 1.5
    poll(T0 + timedelta(seconds=60), 80.0)  # 60 s after a saw it start (b saw it 30 s ago)
    alert = Alert.objects.get()
    assert alert.raised_at == T0 + timedelta(seconds=60) and alert.values["spread_mv"] == 80.0


def test_a_condition_that_ended_in_another_process_starts_again_from_its_return(
        poll: Callable[..., None], clock: Clock, processes: Callable[[str], None]) -> None:
    rule("cell-spread", raise_after_s=60, clear_after_s=0)
    poll(T0, 80.0)  # a: the condition starts
    processes("b")
    poll(T0 + timedelta(seconds=30), 5.0)  # b: it is over, the watch goes
    poll(T0 + timedelta(seconds=35), 80.0)  # b: it starts again
    processes("a")
    clock.now += RECHECK_AFTER
    poll(T0 + timedelta(seconds=65), 80.0)  # 65 s after the first start, 30 s after the second
    assert not Alert.objects.exists()
    poll(T0 + timedelta(seconds=95), 80.0)
    assert Alert.objects.get().raised_at == T0 + timedelta(seconds=95)


RECHECK_AFTER = evaluation.RECHECK_S + 0.1


def test_a_rule_edited_in_the_api_applies_at_once_here_and_within_the_recheck_time_elsewhere(
        poll: Callable[..., None], clock: Clock, processes: Callable[[str], None]) -> None:
    spread = rule("cell-spread", raise_after_s=0, clear_after_s=0)
    processes("b")
    poll(T0, 30.0)  # b: 30 mV is inside the default 50 mV
    processes("a")
    staff = APIClient()
    staff.force_authenticate(User.objects.create_user("staff", is_staff=True))
    answer = staff.patch(f"/api/alert-rules/{spread.pk}/", {"high": 20.0, "hysteresis": 5.0}, format="json")
    assert answer.status_code == 200
    processes("b")
    clock.now += 1.0
    poll(T0 + timedelta(seconds=5), 30.0)  # b's rules may be this stale
    assert not Alert.objects.exists()
    clock.now += 1.5
    poll(T0 + timedelta(seconds=10), 30.0)
    assert Alert.objects.get().raised_at == T0 + timedelta(seconds=10)
    processes("a")
    staff.patch(f"/api/alert-rules/{spread.pk}/", {"enabled": False}, format="json")
    poll(T0 + timedelta(seconds=15), 30.0)  # a: at once (the disable cleared the alert, nothing more)
    assert list(Alert.objects.values_list("state", flat=True)) == ["cleared"]
    assert not AlertRule.objects.get(pk=spread.pk).enabled
