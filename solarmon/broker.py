"""The filesystem broker (kombu's ``filesystem://``), made safe on small and full disks.

kombu's transport keeps each message in a file of the broker folder. On a full disk it fails
in three ways, and each one stops the worker at every start until someone deletes a file:

- a publish that runs out of space leaves a 0-byte (or torn) message file behind;
- the consumer decodes whatever file it finds, and a file that is not a whole message
  raises ``JSONDecodeError``, which Celery treats as unrecoverable: the worker exits;
- exchange tables (``control/*.exchange``) are rewritten in place, so a full disk can
  truncate them, with the same result when the next worker binds its queues.

kombu has no option for any of this (celery/kombu#1551). This transport writes every file
under a temporary name and renames it into place, so a reader sees a whole file or none;
moves a message file that cannot be decoded aside into ``rejected_folder`` with a warning,
and goes on with the next; and treats an unreadable exchange table as empty, rewriting it
at the next bind. Settings select it (``CELERY_BROKER_TRANSPORT``) whenever the broker URL
is ``filesystem://``; files it writes are the ones kombu's own transport reads, and back.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from queue import Empty
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, virtual
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

from telemetry.diskfull import BROKER, is_disk_full

log = logging.getLogger(__name__)

# Rejected files are kept for a look, not forever.
KEEP_REJECTED = 50
# A temporary file older than this was left by a writer that died between write and rename.
STALE_TEMP_S = 300.0


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file, or the whole new one.

    The temporary name starts with a dot, so no queue ever takes it for a message.
    """
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temp, "xb") as out:
            out.write(data)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder`` (flock on the directory), shared by every process."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def decode_message(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    """A stored message, or None and why it is not one."""
    if not raw:
        return None, "empty file"
    try:
        payload = loads(bytes_to_str(raw))
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError both are
        return None, f"not a whole message ({len(raw)} bytes: {exc})"
    properties = payload.get("properties") if isinstance(payload, dict) else None
    if not isinstance(properties, dict) or "delivery_info" not in properties:
        return None, f"not a kombu message ({len(raw)} bytes)"
    return payload, ""


def decode_table(raw: bytes) -> list[filesystem.exchange_queue_t] | None:
    """An exchange table, or None if the file does not hold one."""
    try:
        rows = loads(bytes_to_str(raw))
        return [filesystem.exchange_queue_t(*row) for row in rows]
    except (ValueError, TypeError):
        return None


class Channel(filesystem.Channel):
    """kombu's filesystem channel with atomic writes and a consumer that skips bad files."""

    # ---- messages --------------------------------------------------------------------
    # kombu's stubs disagree with themselves about _put's argument names.
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{round(time.monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        try:
            write_atomically(Path(self.data_folder_out) / name, str_to_bytes(dumps(payload)))
        except OSError as exc:
            if is_disk_full(exc):
                BROKER.failed(exc, f"queue {queue}")
            raise ChannelError(f"Cannot add file {name!r} to directory") from exc
        BROKER.succeeded()

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        wanted = f"{queue}.msg"
        folder = Path(self.data_folder_in)
        for name in sorted(os.listdir(folder)):
            if name.partition(".")[2] != wanted:
                if name.startswith(".") and name.endswith(".tmp"):
                    _remove_if_stale(folder / name)
                continue
            claimed = self._claim(folder / name)
            if claimed is None:
                continue  # another consumer took it first
            try:
                raw = claimed.read_bytes()
            except OSError as exc:
                self._reject(claimed, f"unreadable ({exc})")
                continue
            payload, problem = decode_message(raw)
            if payload is None:
                self._reject(claimed, problem)
                continue
            if not self.store_processed:
                claimed.unlink(missing_ok=True)
            return payload
        raise Empty()

    def _claim(self, path: Path) -> Path | None:
        """Move a message out of the inbox, so no other consumer reads it too."""
        target = self._claim_folder / path.name
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return None
        except OSError:
            try:  # another filesystem (a processed folder elsewhere): copy and delete
                shutil.move(path, target)
            except OSError:
                return None
        return target

    @property
    def _claim_folder(self) -> Path:
        folder = Path(self.processed_folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return Path(tempfile.gettempdir())
        return folder

    def _reject(self, path: Path, problem: str) -> None:
        folder = Path(self.transport_options.get("rejected_folder") or Path(self.processed_folder).parent
                      / "rejected")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            os.replace(path, folder / path.name)
            where = f"moved to {folder}"
            _trim(folder, KEEP_REJECTED)
        except OSError:
            path.unlink(missing_ok=True)
            where = "deleted"
        log.warning("broker: skipped message file %s: %s; %s", path.name, problem, where)

    # ---- exchange tables -------------------------------------------------------------
    def get_table(self, exchange: str) -> list[filesystem.exchange_queue_t]:  # type: ignore[override]
        file = self._table_file(exchange)
        try:
            raw = file.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ChannelError(f"Cannot open {file}") from exc
        table = decode_table(raw)
        if table is None:
            log.warning("broker: exchange table %s is unreadable (%d bytes); it is rebuilt as queues "
                        "bind again", file, len(raw))
            return []
        return table

    def _queue_bind(self, exchange: str, routing_key: str | None, pattern: str | None, queue: str | None
                    ) -> None:
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._edit_table(exchange, lambda table: table if entry in table else [entry, *table])

    def _delete(self, queue: str, exchange: str, routing_key: str, pattern: str, *args: Any,
                **kwargs: Any) -> None:
        virtual.Channel._delete(self, queue, exchange, routing_key, pattern, *args, **kwargs)
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._edit_table(exchange, lambda table: [row for row in table if row != entry])

    def _table_file(self, exchange: str) -> Path:
        return self._exchange_file(exchange)  # type: ignore[attr-defined,no-any-return]

    def _edit_table(self, exchange: str, change: Any) -> None:
        file = self._table_file(exchange)
        try:
            self.control_folder.mkdir(parents=True, exist_ok=True)
            with folder_lock(self.control_folder):
                table = self.get_table(exchange)
                changed = change(table)
                if changed != table or not file.exists():
                    write_atomically(file, str_to_bytes(dumps(changed)))
        except OSError as exc:
            if not is_disk_full(exc):
                raise ChannelError(f"Cannot open {file}") from exc
            # The table on disk is still whole; the binding is written at the next start.
            log.warning("broker: exchange table %s not updated: the disk is full", file)


class FilesystemTransport(filesystem.Transport):
    """The filesystem transport with :class:`Channel`."""

    Channel = Channel


def _remove_if_stale(path: Path) -> None:
    try:
        if time.time() - path.stat().st_mtime > STALE_TEMP_S:
            path.unlink()
    except OSError:
        pass


def _trim(folder: Path, keep: int) -> None:
    files = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime)
    for old in files[:-keep]:
        old.unlink(missing_ok=True)
