#!/usr/bin/env python3
"""The best delays any detector that waits for the k-th customer could score on a drill.

An oracle that knows which contacts belong to each security incident and alerts exactly when
the k-th of them arrives: its median and worst delay (minutes from the incident's first
contact, as ../shared/tools/score_drill.py measures) bound what a detector needing k reports
can reach. Used in docs/detection.md to read the delay floors against the drills.

    python3 benches/oracle_delays.py /tmp/d101 /tmp/d102 [--k 2 3]
"""
import argparse
import json
import statistics
from datetime import datetime
from pathlib import Path


def parse(t):
    return datetime.fromisoformat(t.replace("Z", "+00:00"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("drills", nargs="+", type=Path, help="drill directories (truth.json, contacts.ndjson)")
    ap.add_argument("--k", nargs="+", type=int, default=[2, 3], help="which contact the oracle alerts at")
    args = ap.parse_args()
    for drill in args.drills:
        truth = json.loads((drill / "truth.json").read_text(encoding="utf-8"))
        times = {}
        with open(drill / "contacts.ndjson", encoding="utf-8") as f:
            for line in f:
                c = json.loads(line)
                times[c["id"]] = parse(c["received_at"])
        cells = []
        for k in args.k:
            delays = []
            for inc in truth["incidents"]:
                if not inc.get("security"):
                    continue
                start = parse(inc["start"])
                arrived = sorted((times[i] - start).total_seconds() / 60 for i in inc["contacts"] if i in times)
                if len(arrived) >= k:
                    delays.append(arrived[k - 1])
            if delays:
                cells.append("k=%d: median %.0f, worst %.0f min" % (k, statistics.median(delays), max(delays)))
        print("%s: %s" % (drill, "; ".join(cells)))


if __name__ == "__main__":
    main()
