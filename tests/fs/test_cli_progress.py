"""encordfs.progress: a line on a terminal, nothing at all otherwise."""

from __future__ import annotations

import fcntl
import io
import os
import select
import struct
import sys
import termios

import pytest

from encordfs.progress import progress_line


def test_nothing_is_drawn_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    captured = io.StringIO()
    monkeypatch.setattr(sys, "stderr", captured)
    with progress_line("re-encoding") as line:
        line.update(1, 3, 10, 30)
        line.note("waiting")
    assert captured.getvalue() == ""


def test_a_terminal_gets_the_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a new pty is 0x0
    with os.fdopen(slave, "w") as terminal:
        monkeypatch.setattr(sys, "stderr", terminal)
        with progress_line("importing") as line:
            line.update(2, 5, done_bytes=3 << 20, total_bytes=10 << 20)
            terminal.flush()
            drawn = ""
            while select.select([master], [], [], 0.5)[0]:
                drawn += os.read(master, 4096).decode()
    os.close(master)
    assert "importing" in drawn and "2/5" in drawn and "3.0 MiB/10.0 MiB" in drawn
