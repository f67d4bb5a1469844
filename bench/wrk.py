"""Closed-loop load with ``wrk`` (Debian's package; ``make bench-tools``), the same summary as :mod:`bench.loadgen`.

wrk is C on one thread per core: it leaves more of a 2-core machine to the server under test than the
Python generator does. A Lua script POSTs the bodies in turn and prints wrk's own counts and latency
percentiles as one JSON line at the end.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

SCRIPT = """
local bodies = {%s}
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i %% #bodies + 1
  return wrk.format(nil, %s, nil, bodies[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %%d, "socket_errors": %%d, "non_2xx": %%d, "duration_us": %%d, ' ..
    '"p50_us": %%d, "p99_us": %%d, "max_us": %%d}\\n',
    summary.requests, e.connect + e.read + e.write + e.timeout, e.status, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def available() -> bool:
    return shutil.which("wrk") is not None


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string of ASCII JSON is a valid Lua string literal


def run_wrk(port: int, path: str, bodies: list[bytes], *, connections: int = 16, duration_s: float = 10.0,
            threads: int = 1) -> dict[str, float | int]:
    """``connections`` keep-alive connections POSTing ``bodies`` in turn for ``duration_s`` seconds."""
    script = SCRIPT % (", ".join(_lua_string(b.decode("ascii")) for b in bodies), _lua_string(path))
    with tempfile.TemporaryDirectory() as folder:
        script_path = Path(folder) / "post.lua"
        script_path.write_text(script)
        done = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration_s:g}s",
                               "--timeout", "5s", "-s", str(script_path), f"http://127.0.0.1:{port}{path}"],
                              capture_output=True, text=True, check=True)
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    seconds = counts["duration_us"] / 1e6
    return {
        "requests": counts["requests"],
        "errors": counts["socket_errors"] + counts["non_2xx"],
        "seconds": round(seconds, 2),
        "rps": round(counts["requests"] / seconds, 1),
        "p50_ms": round(counts["p50_us"] / 1000, 2),
        "p99_ms": round(counts["p99_us"] / 1000, 2),
        "max_ms": round(counts["max_us"] / 1000, 2),
    }
