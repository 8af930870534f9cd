"""The filesystem broker on a full disk: no torn message files, and a torn or empty file is moved
aside and logged, never fatal: the next good message is delivered, to a real worker too."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from amqp import ChannelError
from django.conf import settings
from django.db import connection
from kombu import Connection, Exchange, Queue
from kombu.exceptions import KombuError
from kombu.transport import virtual

from solarmon.broker import FilesystemTransport
from tests.aggregation.smalldisk import fill, free_space, small_disk

GOOD = {"hello": "world"}
BROKEN = ["00_empty.celery.msg", "01_torn.celery.msg"]


def broker_options(data_dir: Path) -> dict[str, Any]:
    """The folders settings.py gives the broker in ``data_dir``."""
    folders = {sub: data_dir / "broker" / sub for sub in ("in", "processed", "control", "rejected")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    return {"data_folder_in": str(folders["in"]), "data_folder_out": str(folders["in"]),
            "processed_folder": str(folders["processed"]), "control_folder": str(folders["control"]),
            "rejected_folder": str(folders["rejected"]), "store_processed": False}


def connect(data_dir: Path) -> Connection:
    # kombu keeps which queues are bound per process; a process has one broker folder, a test
    # one each, so each test's transport gets its own memory of bindings.
    transport = type("Transport", (FilesystemTransport,), {"global_state": virtual.BrokerState()})
    return Connection("filesystem://localhost//", transport=transport,
                      transport_options={**broker_options(data_dir), "polling_interval": 0.05})


def queue() -> Queue:
    return Queue("celery", Exchange("celery", type="direct"), routing_key="celery")


def publish(conn: Connection, body: dict[str, Any]) -> None:
    conn.Producer().publish(body, exchange=queue().exchange, routing_key="celery", declare=[queue()],
                            serializer="json")


def received(conn: Connection) -> list[Any]:
    """Every message waiting in the queue, in order."""
    bodies: list[Any] = []

    def take(body: Any, message: Any) -> None:
        bodies.append(body)
        message.ack()

    with conn.Consumer([queue()], accept=["json"], callbacks=[take]):
        while True:
            try:
                conn.drain_events(timeout=0.5)
            except TimeoutError:
                return bodies


def broken_files(inbox: Path) -> None:
    """An empty message file and a torn one, named to be read before any real message."""
    (inbox / "00_empty.celery.msg").write_bytes(b"")
    (inbox / "01_torn.celery.msg").write_bytes(b'{"body": "eyJoZWxsbyI6ICJ3b3Js", "content-encoding": "ut')


def test_a_publish_on_a_full_disk_leaves_no_message_file_and_works_once_space_is_back(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "256k") as disk, connect(disk) as conn:
        publish(conn, {"before": 1})  # binds the queue while there is room
        assert received(conn) == [{"before": 1}]
        fill(disk)
        with pytest.raises((KombuError, ChannelError)):
            publish(conn, GOOD)
        assert os.listdir(disk / "broker" / "in") == []
        free_space(disk)
        publish(conn, GOOD)
        assert received(conn) == [GOOD]


def test_empty_and_torn_message_files_are_moved_aside_and_the_next_message_is_delivered(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="solarmon.broker")
    with connect(tmp_path) as conn:
        publish(conn, GOOD)
        broken_files(tmp_path / "broker" / "in")
        assert received(conn) == [GOOD]
    assert sorted(os.listdir(tmp_path / "broker" / "rejected")) == BROKEN
    assert os.listdir(tmp_path / "broker" / "in") == []
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "skipped message file 00_empty.celery.msg: empty file" in logged
    assert "skipped message file 01_torn.celery.msg: not a whole message" in logged


def test_an_unreadable_exchange_table_is_rebuilt_when_the_queue_binds_again(tmp_path: Path) -> None:
    options = broker_options(tmp_path)
    table = Path(options["control_folder"]) / "celery.exchange"
    table.write_bytes(b'[["celery", "", "cel')  # cut off by a full disk
    with connect(tmp_path) as conn:
        publish(conn, GOOD)
        assert received(conn) == [GOOD]
    assert json.loads(table.read_text()) == [["celery", "", "celery"]]


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.django_db(transaction=True)
def test_a_worker_skips_broken_broker_files_and_runs_the_next_task(tmp_path: Path) -> None:
    options = broker_options(tmp_path)
    (Path(options["control_folder"]) / "celery.exchange").write_bytes(b"")  # a 0-byte exchange table
    broken_files(Path(options["data_folder_in"]))
    from solarmon.celery import app

    with connect(tmp_path) as conn:
        app.send_task("aggregation.tasks.guard_disk", connection=conn)
    record = tmp_path / "storage_guard.json"
    log_path = tmp_path / "worker.log"
    # The disk guard is the task: told to keep the whole disk free, it records a low disk.
    env = {**os.environ, "SOLARMON_DATA_DIR": str(tmp_path), "CELERY_BROKER_URL": "filesystem://",
           "SECRET_KEY": settings.SECRET_KEY, "DATABASE_URL": _database_url(),
           "SOLARMON_DISK_MIN_FREE_PCT": "100", "SOLARMON_DISK_MIN_FREE_MB": str(10**9)}
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "solarmon", "worker", "--pool", "solo", "--loglevel",
             "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            env=env, cwd=settings.BASE_DIR, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not record.exists():
                assert worker.poll() is None, log_path.read_text()[-3000:]
                time.sleep(0.3)
            assert worker.poll() is None, log_path.read_text()[-3000:]
        finally:
            worker.terminate()
            worker.wait(30)
    output = log_path.read_text()
    assert json.loads(record.read_text())["level"] == "low", output[-3000:]
    assert "skipped message file 00_empty.celery.msg: empty file" in output
    assert "skipped message file 01_torn.celery.msg: not a whole message" in output
    assert "Unrecoverable error" not in output
    assert sorted(os.listdir(options["rejected_folder"])) == BROKEN
