"""Run the external SMPP peer (tests/peers/smpp_server.js, on the npm ``smpp`` package) for a test:
start it on loopback, send it control commands, read what it recorded."""

from __future__ import annotations

import json
import queue
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

PEERS_DIR = Path(__file__).parent
SCRIPT = PEERS_DIR / "smpp_server.js"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PeerUnavailable(RuntimeError):
    pass


@dataclass
class SmppPeer:
    record: Path
    port: int = 0
    system_id: str = "notify"
    password: str = "secret"
    extra_args: list[str] = field(default_factory=list)
    proc: subprocess.Popen | None = None
    _lines: "queue.Queue[dict[str, Any]]" = field(default_factory=queue.Queue)

    def start(self, timeout: float = 15.0) -> "SmppPeer":
        node = shutil.which("node")
        if node is None:
            raise PeerUnavailable("node is not installed (Node 20 is part of the machine setup)")
        if not (PEERS_DIR / "node_modules" / "smpp").is_dir():
            raise PeerUnavailable(f"run `npm ci` in {PEERS_DIR} (scripts/bootstrap.sh does)")
        args = [node, str(SCRIPT), "--record", str(self.record), "--port", str(self.port),
                "--system-id", self.system_id, "--password", self.password, *self.extra_args]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, bufsize=1)
        threading.Thread(target=self._read_stdout, daemon=True).start()
        ready = self._expect(lambda m: "event" in m, timeout)
        if ready.get("event") != "listening":
            raise PeerUnavailable(f"SMPP peer failed: {ready}")
        self.port = int(ready["port"])
        return self

    def _read_stdout(self) -> None:
        assert self.proc and self.proc.stdout
        for line in self.proc.stdout:
            try:
                self._lines.put(json.loads(line))
            except ValueError:
                pass

    def _expect(self, predicate: Callable[[dict], bool], timeout: float) -> dict[str, Any]:
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                err = self.proc.stderr.read() if self.proc and self.proc.poll() is not None and self.proc.stderr else ""
                raise PeerUnavailable(f"SMPP peer did not answer in {timeout}s {err}")
            try:
                msg = self._lines.get(timeout=left)
            except queue.Empty:
                continue
            if predicate(msg):
                return msg

    def control(self, **command: Any) -> None:
        """Send a control command and wait for its acknowledgement."""
        assert self.proc and self.proc.stdin
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        self._expect(lambda m: m.get("ack") == command, 5.0)

    def records(self, kind: str | None = None) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        out = [json.loads(line) for line in self.record.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [r for r in out if kind is None or r["t"] == kind]

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 10.0) -> list[dict[str, Any]]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            recs = self.records()
            if predicate(recs):
                return recs
            time.sleep(0.02)
        raise AssertionError(f"the SMPP peer never saw what was expected; it recorded: {self.records()[-20:]}")

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            if self.proc.stdin:
                self.proc.stdin.close()  # the peer exits when its stdin closes
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        finally:
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream:
                    stream.close()
            self.proc = None
