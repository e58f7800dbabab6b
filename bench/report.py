"""The Markdown table, the target checks and the chart of one benchmark run."""

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# What each read route must reach of its own ceiling (the very SQL it sends, replayed bare).
CEILING_TARGETS = {
    "users_me": 0.6,
    "jobs_first_page": 0.6,
    "job_detail": 0.5,
    "autocomplete": 0.5,
    "my_applications": 0.5,
    "jobs_search": 0.5,
    "jobs_search_filters": 0.5,
}


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    postgres = subprocess.run(
        ["psql", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "postgresql_client": postgres,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _table(run: dict[str, Any]) -> list[str]:
    rows = [
        "| scenario | req/s | p50 ms | p95 ms | p99 ms | errors | ceiling req/s | of ceiling"
        " (median; each round) |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    ceilings = run.get("ceilings", {})
    for name, figures in run["scenarios"].items():
        ceiling = ceilings.get(name)
        shown, ratio = "", ""
        if ceiling:
            rounds = ", ".join(f"{r:.0%}" for r in ceiling["ratios"])
            shown, ratio = f"{ceiling['rps']:.0f}", f"{ceiling['ratio']:.0%} ({rounds})"
        rows.append(
            f"| {name} | {figures['rps']:.0f} | {figures['p50_ms']:.1f} | {figures['p95_ms']:.1f}"
            f" | {figures['p99_ms']:.1f} | {figures['errors']} | {shown} | {ratio} |"
        )
    return rows


def targets(summary: dict[str, Any], out: Path) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for each target the suite checks."""
    small, large = summary["runs"][0], summary["runs"][-1]
    s, checks = large["scenarios"], []
    for run in summary["runs"]:
        for name, wanted in CEILING_TARGETS.items():
            ceiling = run.get("ceilings", {}).get(name)
            if ceiling is None:
                continue
            ratio = ceiling["ratio"]
            checks.append(
                (
                    f"{name} >= {wanted:.0%} of its ceiling at {run['jobs']:,} jobs",
                    f"{ratio:.0%} (rounds: {', '.join(f'{r:.0%}' for r in ceiling['ratios'])})",
                    ratio >= wanted,
                )
            )
    growth = s["jobs_search"]["p95_ms"] / small["scenarios"]["jobs_search"]["p95_ms"]
    checks.append(
        (
            f"search p95 at {large['jobs']} <= 1.5x p95 at {small['jobs']}",
            f"{growth:.2f}x ({s['jobs_search']['p95_ms']:.1f} vs "
            f"{small['scenarios']['jobs_search']['p95_ms']:.1f} ms)",
            growth <= 1.5,
        )
    )
    page = s["jobs_page_500"]["p50_ms"] / s["jobs_first_page"]["p50_ms"]
    checks.append(("page 500 p50 <= 1.2x page 1 p50", f"{page:.2f}x", page <= 1.2))
    sign_in = large["sign_in"]
    checks.append(
        (
            "sign-in >= 90% of the in-process hash throughput, no errors",
            f"{sign_in['fraction_of_limit']:.0%} of {sign_in['limit_rps']:.1f}/s "
            f"({sign_in['hash_ms']:.0f} ms a hash at cost {sign_in['rounds']}), "
            f"{s['sign_in']['errors']} errors",
            sign_in["fraction_of_limit"] >= 0.9 and s["sign_in"]["errors"] == 0,
        )
    )
    stall = sign_in["health_p99_storm_ms"] / sign_in["health_p99_idle_ms"]
    checks.append(
        (
            "/health/live p99 during the sign-in storm < 10x idle",
            f"{stall:.1f}x ({sign_in['health_p99_storm_ms']:.1f} vs "
            f"{sign_in['health_p99_idle_ms']:.1f} ms)",
            stall < 10,
        )
    )
    read_errors = sum(
        figures["errors"]
        for run in summary["runs"]
        for name, figures in run["scenarios"].items()
        if name not in ("apply", "sign_in")
    )
    checks.append(("zero non-2xx in read scenarios", str(read_errors), read_errors == 0))
    apply_errors = sum(run["scenarios"]["apply"]["errors"] for run in summary["runs"])
    checks.append(("zero non-2xx applying", str(apply_errors), apply_errors == 0))
    start, end = large["soak"]["rss_start_kib"], large["soak"]["rss_end_kib"]
    growth_rss = max(e / b for b, e in zip(start, end, strict=False)) if start else 0
    checks.append(
        (
            f"worker RSS flat over {summary['plan']['soak_seconds']} s (< 10% growth)",
            f"{[round(b / 1024) for b in start]} -> {[round(e / 1024) for e in end]} MiB",
            growth_rss < 1.10,
        )
    )
    plans = out / f"explain-{large['jobs']}.txt"
    if plans.exists():
        seq = plans.read_text().count("Seq Scan on jobs")
        checks.append(("no sequential scan of jobs in any plan", f"{seq} found", seq == 0))
    return checks


def chart(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = summary["runs"]
    names = list(runs[0]["scenarios"])
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(12, 8), sharex=True)
    width = 0.8 / len(runs)
    for index, run in enumerate(runs):
        xs = [position + index * width for position in range(len(names))]
        label = f"{run['jobs']:,} jobs"
        top.bar(xs, [run["scenarios"][n]["rps"] for n in names], width, label=label)
        bottom.bar(xs, [run["scenarios"][n]["p95_ms"] for n in names], width, label=label)
    top.set_ylabel("requests/s (median)")
    bottom.set_ylabel("p95 latency, ms (median)")
    bottom.set_yscale("log")
    bottom.set_xticks([p + width * (len(runs) - 1) / 2 for p in range(len(names))])
    bottom.set_xticklabels(names, rotation=35, ha="right")
    top.legend()
    top.set_title(
        f"Job board API, {summary['machine']['cores']} cores, {summary['machine']['date']}"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def write(summary: dict[str, Any], out: Path) -> str:
    lines = [f"# Benchmark run {out.name}", ""]
    m = summary["machine"]
    lines += [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; Python {m['python']};"
        f" {m['postgresql_client']}. API and load generator share the machine.",
        f"Plan: {summary['plan']}",
        "",
    ]
    for run in summary["runs"]:
        lines += [f"## {run['jobs']:,} jobs", "", *_table(run), ""]
    lines += ["## Targets", "", "| target | measured | met |", "|---|---|---|"]
    lines += [
        f"| {t} | {measured} | {'yes' if ok else '**no**'} |"
        for t, measured, ok in targets(summary, out)
    ]
    chart(summary, out / "chart.png")
    lines += ["", "![chart](chart.png)", ""]
    text = "\n".join(lines)
    (out / "results.md").write_text(text)
    return text
