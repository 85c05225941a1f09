#!/usr/bin/env python3
"""Where a NAB score comes from (issue 19): per category, at the corpus threshold.

    cargo build --release
    python3 benches/nab_decompose.py [--data ../shared/data/nab/dev] [--profile standard]
        [--scorer ../shared/tools/nab_score.py] [--results DIR]

Runs `frontline detect` over --data (unless --results names a folder already scored), finds
the profile's best corpus threshold with the shared scorer's own sweep, and prints for each
category and in total: windows hit of scorable, false-positive rows split into full-cost ones
(before the first window or well after one) and cheap ones (just after a window, where NAB's
weight is near 0), their cost, the mean credit of a hit window, and the share of scored rows
with a score above 0 (a detector should be an event stream: zero almost everywhere). The
scorer is imported from --scorer, not copied. Standard library only.
"""
import argparse
import collections
import importlib.util
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "nab", "dev"))
    ap.add_argument("--scorer", default=os.path.join(ROOT, "..", "shared", "tools", "nab_score.py"))
    ap.add_argument("--profile", default="standard")
    ap.add_argument("--results", help="a folder of scored files (default: run detect)")
    args = ap.parse_args()

    spec = importlib.util.spec_from_file_location("nab_score", args.scorer)
    nab = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nab)
    with tempfile.TemporaryDirectory() as work:
        results = args.results
        if results is None:
            results = os.path.join(work, "results")
            subprocess.run([os.path.join(ROOT, "target", "release", "frontline"), "detect",
                            "--input", args.data, "--output", results],
                           check=True, stderr=subprocess.DEVNULL)
        corpus = nab.Corpus(results, os.path.join(args.data, "windows.json"), args.data)
    profile = nab.PROFILES[args.profile]
    threshold, raw = corpus.optimise(profile)
    weight = corpus.weights(profile)

    rows = collections.defaultdict(lambda: collections.Counter())
    best = {}
    scorable = set(w for w in corpus.window if w >= 0)
    for j, s in enumerate(corpus.score):
        cat = corpus.files[corpus.file_of[j]].split("/")[0]
        c = rows[cat]
        c["rows"] += 1
        c["nonzero"] += s > 0
        if s < threshold:
            continue
        wid = corpus.window[j]
        if wid < 0:
            # NAB's weight outside windows: -1 far from them, near 0 just after one.
            c["fp_far" if corpus.shape[j] < -0.5 else "fp_near"] += 1
            c["fp_cost"] += -weight[j]
        else:
            best[wid] = max(best.get(wid, -1e9), weight[j])
    for wid in scorable:
        cat = corpus.files[corpus.window_file[wid]].split("/")[0]
        rows[cat]["windows"] += 1
        if wid in best:
            rows[cat]["hit"] += 1
            rows[cat]["credit"] += best[wid] / profile["tp"]

    null, perfect = corpus.null_score(profile), corpus.perfect_score(profile)
    print(f"{args.profile}: threshold {threshold:.6f}, NAB score "
          f"{nab.normalise(raw, null, perfect):.2f}")
    head = f"{'category':24} {'hit':>9} {'fp far':>7} {'fp near':>8} {'fp cost':>8} " \
           f"{'credit':>7} {'non-zero':>9}"
    print(head)
    total = collections.Counter()
    for cat in sorted(rows) + ["all"]:
        c = total if cat == "all" else rows[cat]
        if cat != "all":
            total.update(c)
        credit = c["credit"] / c["hit"] if c["hit"] else float("nan")
        print(f"{cat:24} {c['hit']:>4}/{c['windows']:<4} {c['fp_far']:>7} {c['fp_near']:>8} "
              f"{c['fp_cost']:>8.2f} {credit:>7.3f} {100 * c['nonzero'] / max(c['rows'], 1):>8.2f}%")


if __name__ == "__main__":
    sys.exit(main())
