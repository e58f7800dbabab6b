"""Driving wrk: a Lua script per scenario, and the figures its `done` hook prints as JSON."""

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Printed once at the end of a run; wrk's own summary has no p95 and no non-2xx count.
DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p95_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid Lua string literal for our inputs


def lua_list(values: list[str]) -> str:
    return "{" + ", ".join(lua_string(value) for value in values) + "}"


@dataclass
class Scenario:
    """One load: a fixed request (or a rotation of paths), concurrency and duration."""

    name: str
    path: str = "/"
    paths: list[str] = field(default_factory=list)
    method: str = "GET"
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    header_rotation: list[dict[str, str]] = field(default_factory=list)
    connections: int = 32
    threads: int = 2
    read: bool = True
    # Which repeat this is (0 to 3: each gets its own quarter of a rotation), and a pause
    # between requests in milliseconds.
    start: int = 0
    delay_ms: int = 0

    def lua(self) -> str:
        lines = [f"wrk.method = {lua_string(self.method)}"]
        for name, value in self.headers.items():
            lines.append(f"wrk.headers[{lua_string(name)}] = {lua_string(value)}")
        if self.body is not None:
            lines.append(f"wrk.body = {lua_string(self.body)}")
        if self.paths or self.header_rotation:
            paths = self.paths or [self.path]
            rotation = [h.get("Authorization", "") for h in self.header_rotation] or [""]
            lines += [
                f"local paths = {lua_list(paths)}",
                f"local auths = {lua_list(rotation)}",
                "local counter = 0",
                # Threads (and repeated runs) start far apart, so that rotations such as
                # job x candidate never repeat. `offset` is set in each thread by setup().
                f"local stride = {max(1, len(paths) * len(rotation) // (self.threads * 4))}",
                f"local next_offset = {self.start * self.threads} * stride",
                "setup = function(thread)",
                "  thread:set('offset', next_offset)",
                "  next_offset = next_offset + stride",
                "end",
                "init = function(args) counter = offset end",
                "request = function()",
                "  counter = counter + 1",
                "  local path = paths[(counter % #paths) + 1]",
                "  local auth = auths[(math.floor(counter / #paths) % #auths) + 1]",
                "  local headers = {}",
                "  for k, v in pairs(wrk.headers) do headers[k] = v end",
                "  if auth ~= '' then headers['Authorization'] = auth end",
                "  return wrk.format(nil, path, headers, wrk.body)",
                "end",
            ]
        if self.delay_ms:
            lines.append(f"delay = function() return {self.delay_ms} end")
        return "\n".join(lines) + "\n" + DONE


def run(scenario: Scenario, base_url: str, seconds: int, scripts: Path) -> dict[str, Any]:
    """Run wrk once; its figures, with requests per second and latencies in milliseconds."""
    script = scripts / f"{scenario.name}.lua"
    script.write_text(scenario.lua())
    url = base_url + (scenario.paths[0] if scenario.paths else scenario.path)
    command = [
        "wrk",
        f"-t{scenario.threads}",
        f"-c{scenario.connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    output = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("BENCH "))
    figures: dict[str, Any] = json.loads(line.removeprefix("BENCH "))
    seconds_run = figures["duration_us"] / 1e6
    return {
        "rps": figures["requests"] / seconds_run,
        "p50_ms": figures["p50_us"] / 1000,
        "p95_ms": figures["p95_us"] / 1000,
        "p99_ms": figures["p99_us"] / 1000,
        "errors": figures["non2xx"] + figures["socket_errors"],
        "requests": figures["requests"],
    }
