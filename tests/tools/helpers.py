"""Helpers of the tools suite: run the installed console scripts as a user
would, workload scripts, reading PNG screenshots without extra packages."""
from __future__ import annotations

import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
USER_LIBRARY = Path(os.environ.get("LUNATIK_BUILD", REPO / "build")) / "user" / "liblunatik.so"
CHROMIUM = Path("/usr/bin/chromium")
TIMEOUT = 300


def tool(name: str) -> list[str]:
    """The console script (pip install -e .), else the module."""
    script = BIN / name
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", f"lunatik_bpf.cli.{name.removeprefix('lunatik-')}"]


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("the tools suite traces: it needs root (BPF, uprobes)")


def need_library() -> None:
    if not USER_LIBRARY.is_file():
        pytest.fail(f"{USER_LIBRARY} is missing (make user)")


def write_workload(tmp: Path, body: str, name: str = "workload.py") -> str:
    """A Python workload script; returns the -c command that runs it."""
    path = tmp / name
    path.write_text("import sys\nimport lunatik_bpf\n" + body)
    return f"{sys.executable} {path}"


def run_tool(name: str, *args: str, check: bool = True,
             stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*tool(name), *args], capture_output=True, text=True,
                          timeout=TIMEOUT, input=stdin)
    if check and proc.returncode not in (0,):
        raise AssertionError(f"{name} {' '.join(args)} exited {proc.returncode}\n"
                             f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}")
    return proc


class Background:
    """A tool running in the background (kernel backend: trace, then drive the
    module from the test, then SIGINT). Waits for the "Tracing" line."""

    def __init__(self, name: str, *args: str) -> None:
        # stdout to a file: a pipe nobody reads until the end could fill and block
        self.stdout = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([*tool(name), *args], stdout=self.stdout,
                                     stderr=subprocess.PIPE, stdin=subprocess.PIPE, text=True)
        assert self.proc.stderr is not None
        self.lines: list[str] = []
        while True:
            line = self.proc.stderr.readline()
            if not line:
                _, err = self.proc.communicate(timeout=TIMEOUT)
                raise AssertionError(f"{name} ended before tracing: {''.join(self.lines)}{err}")
            self.lines.append(line)
            if line.startswith("Tracing"):
                break

    def wait_for(self, text: str) -> str:
        """Reads stderr until a line contains text; returns that line."""
        while True:
            line = self.readline_stderr()
            if not line:
                raise AssertionError(f"stderr ended before {text!r}: {''.join(self.lines)}")
            if text in line:
                return line

    def readline_stderr(self) -> str:
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()
        self.lines.append(line)
        return line

    def stop(self, signal_it: bool = True) -> tuple[int, str, str]:
        """SIGINT (unless it should end by itself), then (status, stdout, stderr)."""
        if signal_it and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate(timeout=TIMEOUT)
        self.stdout.seek(0)
        out = self.stdout.read()
        self.stdout.close()
        return self.proc.returncode, out, "".join(self.lines) + err


def served_port(stderr_line: str) -> int:
    m = re.search(r"Serving http://[^:]+:(\d+)/metrics", stderr_line)
    assert m, f"no 'Serving' line: {stderr_line!r}"
    return int(m.group(1))


# ---- PNG (8-bit RGB/RGBA, as chromium writes them) ----

def png_pixels(data: bytes) -> tuple[int, int, int, bytes]:
    """(width, height, bytes per pixel, unfiltered pixel rows)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    width = height = bpp = 0
    while pos < len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if ctype == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and color in (2, 6), f"PNG depth {depth} color type {color}"
            bpp = 3 if color == 2 else 4
        elif ctype == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    out = bytearray()
    prev = bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + b) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xFF
        out += line
        prev = line
    return width, height, bpp, bytes(out)


def screenshot(html: Path, png: Path, tmp: Path, size: str = "1280,2000") -> None:
    """Renders html in headless chromium into png."""
    profile = tmp / "chromium-profile"
    profile.mkdir(exist_ok=True)
    subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={profile}", f"--screenshot={png}",
                    f"--window-size={size}", html.resolve().as_uri()],
                   capture_output=True, timeout=120, check=False, cwd=tmp)
