#!/usr/bin/env python3
"""Print the per-target figures table of docs/fuzzing.md from fuzz/logs/."""
import pathlib
import re
import sys

here = pathlib.Path(__file__).resolve().parent
targets = sys.argv[1:] or ["cert_import", "attest_import", "verify_signature", "config",
                           "roster", "schedule", "escrow", "audit_log"]
print("| target | executions | time (s) | exec/s | crashes | coverage at start → end (edges) | features | corpus start → end | new units | peak RSS (MB) |")
print("|---|---:|---:|---:|---:|---|---:|---|---:|---:|")
for t in targets:
    log = here / "logs" / f"{t}.log"
    if not log.exists():
        print(f"| {t} | not run | | | | | | | | |")
        continue
    text = log.read_text(errors="replace")
    stat = dict(re.findall(r"^stat::(\w+):\s+(\d+)", text, re.M))
    status = re.findall(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/", text, re.M)
    inited = re.search(r"INITED cov: (\d+) ft: (\d+) corp: (\d+)/", text)
    done = re.search(r"Done (\d+) runs in (\d+) second", text)
    crash = len(re.findall(r"==\d+== ERROR: libFuzzer|panicked at|deadly signal", text)) > 0
    runs = done.group(1) if done else stat.get("number_of_executed_units", "?")
    secs = done.group(2) if done else "?"
    last = status[-1] if status else None
    print("| {} | {} | {} | {} | {} | {} → {} | {} | {} → {} | {} | {} |".format(
        t, f"{int(runs):,}" if str(runs).isdigit() else runs, secs,
        stat.get("average_exec_per_sec", "?"), "1 (see below)" if crash else "0",
        inited.group(1) if inited else "?", last[1] if last else "?",
        last[2] if last else "?",
        inited.group(3) if inited else "?", last[3] if last else "?",
        stat.get("new_units_added", "?"), stat.get("peak_rss_mb", "?")))
