#!/usr/bin/env python3
"""A SQLite backup taken while intake runs: does intake notice? (issue 18's figure)

    cargo build --release
    python3 benches/backup_under_intake.py [--contacts 1000000] [--rate 10000] [--seconds 60]

Builds an installation of --contacts contacts (`.ci/perf_contacts.py`, loaded with
`frontline ingest`), serves it, and sends contacts at --rate per second (batches of 100 to
`POST /api/v1/contacts/bulk`, one every 1/100th of the rate, paced from a fixed schedule so a
slow answer does not slow the offered load) for --seconds. The first --warmup seconds are not counted (the detection
worker reads the stored contacts once at start); halfway through the rest it runs
`frontline backup` (under `nice -n N` with --nice N). It prints the request latencies (p50, p99, max) before the backup, while
it runs, and after, and the backup's own time and size. Standard library only.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# FRONTLINE_BIN compares two builds on the same machine (run them interleaved).
BIN = os.environ.get("FRONTLINE_BIN", os.path.join(ROOT, "target", "release", "frontline"))


def percentile(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--contacts", type=int, default=1_000_000)
    ap.add_argument("--rate", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=80.0)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--warmup", type=float, default=20.0,
                    help="seconds of load not counted (the detection worker reads the stored "
                         "contacts once at start)")
    ap.add_argument("--nice", type=int, default=0, help="run the backup under `nice -n N`")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="frontline-backup-bench-")
    try:
        run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args, work):
    db = f"sqlite://{work}/live.db"
    history = os.path.join(work, "history.ndjson")
    subprocess.run([sys.executable, os.path.join(ROOT, ".ci", "perf_contacts.py"),
                    str(args.contacts), history], check=True)
    started = time.time()
    subprocess.run([BIN, "ingest", history, "--database", db], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"installation: {args.contacts} contacts loaded in {time.time() - started:.0f} s, "
          f"{os.path.getsize(os.path.join(work, 'live.db')) / 2**20:.0f} MiB")
    token = subprocess.run([BIN, "token", "create", "--role", "ingest", "--database", db],
                           check=True, capture_output=True, text=True).stdout.strip()

    # Live traffic: texts from the same generator, ids of their own.
    live = os.path.join(work, "live.ndjson")
    needed = int(args.rate * args.seconds) + args.batch
    subprocess.run([sys.executable, os.path.join(ROOT, ".ci", "perf_contacts.py"),
                    str(min(needed, 2_000_000)), live], check=True)
    with open(live, encoding="utf-8") as f:
        lines = [json.loads(l) for l in f]
    bodies = []
    for b in range(needed // args.batch):
        chunk = []
        for i in range(args.batch):
            c = dict(lines[(b * args.batch + i) % len(lines)])
            c["id"] = f"live-{b}-{i}"
            chunk.append(json.dumps(c))
        bodies.append(("\n".join(chunk) + "\n").encode())

    server = subprocess.Popen([BIN, "serve", "--database", db, "--listen", "127.0.0.1:0"],
                              env={**os.environ, "FRONTLINE_LOG_FORMAT": "json", "RUST_LOG": "info"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    addr = None
    for line in server.stderr:
        m = re.search(r'"addr":"([^"]+)"', line)
        if m and "frontline serving" in line:
            addr = m.group(1)
            break
    threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
    host, port = addr.rsplit(":", 1)
    try:
        measure(args, db, work, host, int(port), token, bodies)
    finally:
        server.terminate()
        server.wait()


def measure(args, db, work, host, port, token, bodies):
    interval = args.batch / args.rate
    samples = []  # (sent at, latency)
    errors = [0]
    lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + args.seconds

    def sender(offset, step):
        conn = http.client.HTTPConnection(host, port, timeout=30)
        k = offset
        while True:
            due = start + k * interval
            if due >= deadline:
                break
            now = time.perf_counter()
            if due > now:
                time.sleep(due - now)
            t0 = time.perf_counter()
            conn.request("POST", "/api/v1/contacts/bulk", body=bodies[k % len(bodies)],
                         headers={"Authorization": f"Bearer {token}",
                                  "Content-Type": "application/x-ndjson"})
            response = conn.getresponse()
            response.read()
            t1 = time.perf_counter()
            with lock:
                # Latency from when the request was due: a late start counts.
                samples.append((due - start, t1 - due))
                if response.status >= 300:
                    errors[0] += 1
            k += step

    # Four connections share the schedule, so one slow answer does not hold the others.
    senders = [threading.Thread(target=sender, args=(i, 4)) for i in range(4)]
    for t in senders:
        t.start()
    # Halfway through what is counted.
    time.sleep(args.warmup + (args.seconds - args.warmup) / 2)
    out = os.path.join(work, "live.backup")
    b0 = time.perf_counter() - start
    nice = ["nice", "-n", str(args.nice)] if args.nice else []
    backup = subprocess.run(nice + [BIN, "backup", "--database", db, "--out", out],
                            capture_output=True, text=True)
    b1 = time.perf_counter() - start
    for t in senders:
        t.join()
    if backup.returncode != 0:
        print("backup failed:", backup.stdout, backup.stderr)
        sys.exit(1)
    manifest = json.loads(backup.stdout[backup.stdout.index("{"):])
    before = [l for at, l in samples if args.warmup <= at < b0]
    during = [l for at, l in samples if b0 <= at <= b1]
    after = [l for at, l in samples if at > b1]
    sent = len(samples) * args.batch
    print(f"offered {args.rate} contacts/s in batches of {args.batch}; sent {sent} in "
          f"{args.seconds:.0f} s ({sent / args.seconds:.0f}/s), {errors[0]} errors")
    print(f"backup: {b1 - b0:.1f} s, {os.path.getsize(out) / 2**20:.0f} MiB, "
          f"{manifest['rows'].get('contacts')} contacts in the copy")
    for name, values in (("before", before), ("during", during), ("after", after)):
        print(f"  {name:6} requests {len(values):5}: p50 {percentile(values, 0.5) * 1000:7.1f} ms, "
              f"p99 {percentile(values, 0.99) * 1000:7.1f} ms, max {max(values, default=0) * 1000:7.1f} ms")
    steady = before + after
    ratio = percentile(during, 0.99) / percentile(steady, 0.99)
    print(f"p99 during the backup / before and after it: {ratio:.2f}")
    wal = db.removeprefix("sqlite://") + "-wal"
    if os.path.exists(wal):
        print(f"write-ahead log at the end: {os.path.getsize(wal) / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
