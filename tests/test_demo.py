"""``./scripts/demo``: it checks that what answers on its port is its emulator, stops exactly what
it started, and says what to do when the mount is busy."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import threading
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO = REPO_ROOT / "scripts" / "demo"

pytestmark = pytest.mark.fuse


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DEMO), *args], cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_another_server_on_the_port_is_refused(tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        result = demo(cwd=tmp_path, env={"ENCORDFS_DEMO_DIR": str(tmp_path / "state"), "ENCORDFS_DEMO_PORT": str(port)})
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 1
    assert (f"demo: something else answers on http://127.0.0.1:{port} (not this demo's emulator); "
            "set ENCORDFS_DEMO_PORT to a free port") in result.stderr
    assert not os.path.ismount(tmp_path / "state" / "mnt")


def test_stop_undoes_what_start_did_and_says_what_to_do_when_busy(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = {"ENCORDFS_DEMO_DIR": str(state), "ENCORDFS_DEMO_PORT": str(free_port()), "ENCORDFS_DEMO_MOUNT": "relative-mnt"}
    started = demo(cwd=tmp_path, env=env)
    mnt = tmp_path / "relative-mnt"
    try:
        assert started.returncode == 0, started.stderr
        assert f"demo: mounted at {mnt}" in started.stdout and os.path.ismount(mnt)
        pid = int(next(line for line in (state / "state").read_text().splitlines() if line.startswith("EMULATOR_PID=")).split("=")[1])
        other = {"ENCORDFS_DEMO_DIR": str(state), "ENCORDFS_DEMO_MOUNT": "elsewhere", "ENCORDFS_DEMO_PORT": "1"}
        some_file = next(p for p in mnt.rglob("*") if p.is_file())
        with some_file.open("rb"):
            busy = demo("stop", cwd=REPO_ROOT, env=other)
            assert busy.returncode == 1
            assert busy.stderr.splitlines() == [
                f"demo: {mnt} is busy: a file under it is open or a shell is in it.",
                f"demo: close it (see: fuser -vm {mnt}) and run ./scripts/demo stop again,",
                "demo: or ./scripts/demo stop --lazy to detach it now (its pending uploads are kept for the next start).",
                "demo: the emulator keeps running meanwhile.",
            ]
            assert os.path.ismount(mnt) and alive(pid)
        stopped = demo("stop", cwd=REPO_ROOT, env=other)
        assert stopped.returncode == 0 and stopped.stdout == f"demo: stopped (data kept in {state / 'data'})\n"
        assert not os.path.ismount(mnt) and not alive(pid)
    finally:
        if os.path.ismount(mnt):
            subprocess.run(["fusermount3", "-uz", str(mnt)])
        demo("stop", cwd=tmp_path, env=env)
