"""Profile a workload on Lunatik states: record it with lunatik-trace -w, then
render the recording with lunatik-report (terminal and HTML).

    sudo .venv/bin/python examples/profile_session.py [OUTDIR]         # user-space library
    .venv/bin/python examples/profile_session.py --kernel [OUTDIR]     # the module (in the VM)

Writes OUTDIR/session.jsonl.gz and OUTDIR/report.html (OUTDIR defaults to
./profile). The workload (this file with --workload) runs four states:
"cache" fills a table until maxalloc denies it and starts over (a sawtooth
against its limit), "calc" runs many small chunks, "shared" is executed
from three threads at once (lock wait and hold), "parser" compiles larger
chunks, and a lookup of a missing name.
"""
from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

FILL = """
cache = cache or {}
for i = 1, 100 do cache[#cache + 1] = ('v'):rep(64) .. #cache end
return #cache
"""
SUM = "local s = 0 for i = 1, 3000 do s = s + i end return s"
PARSE = "local t = {} " + " ".join(f"t[{i}] = function(x) return x * {i} end" for i in range(60)) \
    + " return #t"


def workload(backend: str) -> None:
    sys.path.insert(0, str(REPO))
    import lunatik_bpf

    states = lunatik_bpf.connect(backend)
    states.new("cache", 192 << 10)
    states.new("calc", 64 << 10)
    states.new("shared", 1 << 20)
    states.new("parser", 512 << 10)
    for round_ in range(40):
        try:
            states.execute("cache", FILL)
        except lunatik_bpf.LuaMemoryError:
            states.execute("cache", "cache = nil collectgarbage() return 0")
        states.execute("calc", f"return {round_} * 7")
        if round_ % 4 == 0:
            states.execute("parser", PARSE)
        states.lookup("calc")
    states.lookup("nosuch")

    def worker() -> None:
        own = lunatik_bpf.connect(backend)      # one connection (netlink socket) per thread
        for _ in range(25):
            own.execute("shared", SUM)
        own.disconnect()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        states.execute("calc", "error('on purpose')")
    except lunatik_bpf.LuaError:
        pass
    states.close_all()


def main(argv: list[str]) -> int:
    if argv[:1] == ["--workload"]:
        workload(argv[1] if len(argv) > 1 else "user")
        return 0
    kernel = "--kernel" in argv
    args = [a for a in argv if a != "--kernel"]
    outdir = Path(args[0] if args else "profile").resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    recording, page = outdir / "session.jsonl.gz", outdir / "report.html"
    me = f"{sys.executable} {Path(__file__).resolve()} --workload"
    trace = [str(BIN / "lunatik-trace"), "-q", "--ringbuf-pages", "4096", "-w", str(recording)]
    if kernel:
        tracer = subprocess.Popen(trace, stderr=subprocess.PIPE, text=True)
        assert tracer.stderr is not None
        line = tracer.stderr.readline()        # "Tracing lunatik... Ctrl-C to end."
        if not line.startswith("Tracing"):
            print(line + tracer.stderr.read(), file=sys.stderr)
            return 1
        subprocess.run(me.split() + ["kernel"], check=True)
        tracer.send_signal(subprocess.signal.SIGINT)
        tracer.wait()
    else:
        subprocess.run(trace + ["--user", "-c", me], check=False)
    if not recording.exists():
        return 1
    return subprocess.run([str(BIN / "lunatik-report"), str(recording), "--html", str(page)],
                          check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
