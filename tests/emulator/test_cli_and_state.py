"""The CLI and `--state`: persisted after every write, loaded (not reseeded) on restart."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from serverless_emulator import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, Emulator

ROOT = Path(__file__).resolve().parents[2]


class Cli:
    """`python -m serverless_emulator` as a subprocess on a free port (--port 0)."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "serverless_emulator", "--port", "0", *args],
            cwd=ROOT,
            env={**clean, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # A reader thread, so that waiting for a line can time out.
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.lines: list[str] = []
        try:
            first = self.readline()
            assert "listening on http://" in first, first
            self.base_url = first.rsplit(" ", 1)[-1].strip()
            while not self.readline().lstrip().startswith("Control:"):
                pass
        except BaseException:
            self.kill()
            raise

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def readline(self, timeout: float = 10) -> str:
        line = self._queue.get(timeout=timeout)
        assert line is not None, f"the emulator exited; output: {self.lines}"
        self.lines.append(line)
        return line

    def stop(self, sig: int = signal.SIGTERM) -> str:
        """Signal, wait for a clean exit, and return everything it printed."""
        self.process.send_signal(sig)
        try:
            assert self.process.wait(timeout=10) == 0
        finally:
            self.kill()
        return "".join(self.lines)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._reader.join(timeout=10)
        while not self._queue.empty():
            line = self._queue.get_nowait()
            if line is not None:
                self.lines.append(line)
        assert self.process.stdout is not None
        self.process.stdout.close()


def test_state_survives_a_restart_and_is_not_reseeded(tmp_path: Path) -> None:
    state = tmp_path / "emulator-state.json"
    env = {"TWILIO_ACCOUNT_SID": "AC" + "e" * 32, "TWILIO_AUTH_TOKEN": "env-secret-token"}
    auth = (env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"])

    first = Cli("--state", str(state), "--build-seconds", "0", env=env)
    try:
        assert state.exists()  # written at start
        created = requests.post(
            f"{first.base_url}/v1/Services",
            data={"UniqueName": "fax-relay", "FriendlyName": "Fax Relay"},
            auth=auth,
            timeout=5,
        )
        assert created.status_code == 201
        saved = json.loads(state.read_text())  # persisted on the write, before any stop
        assert "fax-relay" in {s["unique_name"] for s in saved["tables"]["services"]}
    finally:
        output = first.stop()
    assert "env-secret-token" not in output
    assert auth[0] in output
    assert "state saved" in output

    second = Cli("--state", str(state), "--seed", "demo", env=env)
    try:
        services = requests.get(f"{second.base_url}/v1/Services", auth=auth, timeout=5).json()
        names = [s["unique_name"] for s in services["services"]]
        assert names.count("fax-relay") == 1
        assert names.count("ivr-flows") == 1  # loaded, not seeded a second time
        assert "loaded from" in "".join(second.lines)
    finally:
        second.stop(signal.SIGINT)
    assert [p.name for p in tmp_path.iterdir()] == [state.name]  # no temp files left


def test_cli_without_credentials_uses_and_prints_the_demo_ones() -> None:
    cli = Cli("--seed", "empty")
    try:
        banner = "".join(cli.lines)
        assert DEMO_ACCOUNT_SID in banner
        assert f"{DEMO_AUTH_TOKEN} (demo default)" in banner
        response = requests.get(
            f"{cli.base_url}/v1/Services", auth=(DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN), timeout=5
        )
        assert response.json()["services"] == []
    finally:
        output = cli.stop()
    assert "Emulator stopped" in output


def test_cli_registers_an_api_key_from_the_environment() -> None:
    key = "SK" + "d" * 32
    cli = Cli("--seed", "empty", env={"TWILIO_API_KEY": key, "TWILIO_API_SECRET": "s3cret"})
    try:
        response = requests.get(f"{cli.base_url}/v1/Services", auth=(key, "s3cret"), timeout=5)
        assert response.status_code == 200
        assert "s3cret" not in "".join(cli.lines)
    finally:
        cli.stop()


def test_in_process_state_path_round_trip(tmp_path: Path) -> None:
    state = tmp_path / "nested" / "state.json"
    with Emulator(state_path=state, build_seconds=0) as first:
        dev = first.store.environment_named("ivr-flows", "dev")
        first.store.clear_environment(dev.sid)
        building = first.store.create_build("ivr-flows", build_seconds=60)
    assert first.loaded_state is False

    with Emulator(state_path=state) as second:
        assert second.loaded_state is True
        assert second.store.environment(dev.sid).build_sid is None
        assert len(second.store.deployments(dev.sid)) == 1
        assert second.store.build(building.sid).status == "building"
        assert second.store.counts() == first.store.counts()


def test_a_restart_finishes_builds_that_came_due_meanwhile(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with Emulator(state_path=state, seed="empty") as first:
        service = first.store.create_service(unique_name="svc", friendly_name="Svc")
        build = first.store.create_build(service.sid, build_seconds=0.1)
    time.sleep(0.15)
    with Emulator(state_path=state) as second:
        assert second.store.build(build.sid).status == "completed"
