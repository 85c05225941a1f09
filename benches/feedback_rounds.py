#!/usr/bin/env python3
"""What a round of topic corrections buys: a CX lead corrects the topics of N contacts from one
week of a drill (contacts whose security topics the classifier got wrong, picked at random, as
someone reviewing alert evidence would meet them); the classifier is retrained on the corpus in
the repository plus those corrections (what `frontline taxonomy train --feedback` does with the
corrections stored in the database); both models are then measured on the *following* week,
which no correction came from.

Run from the project root after `cargo build --release`, with drills made by
`../shared/data/dev-drills/gen_dev_drill.py --labels`:

    python3 benches/feedback_rounds.py --drill /tmp/d101 --drill /tmp/d102 --budget 0 50 200

Prints, per drill and budget, precision and recall of each security topic on week two. Nothing
is written into the repository: models and corpora live in a temporary folder.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import tempfile
from datetime import datetime, timedelta

SECURITY = ["phishing", "account_takeover", "fraud", "data_exposure"]
BIN = "./target/release/frontline"
CORPUS = "crates/pipeline/classifier"


def when(c):
    return datetime.fromisoformat(c["received_at"].replace("Z", "+00:00"))


def evaluate(contacts, labels, model=None):
    """Per-topic (precision, recall) over all languages, from `taxonomy eval`."""
    env = dict(os.environ)
    if model:
        env["FRONTLINE_TAXONOMY__MODEL"] = model
    out = subprocess.run(
        [BIN, "taxonomy", "eval", "--contacts", contacts, "--labels", labels],
        capture_output=True, text=True, env=env, check=True,
    ).stdout
    got = {}
    for line in out.splitlines():
        cols = line.split()
        if len(cols) >= 4 and cols[0] in SECURITY and cols[1] == "all":
            got[cols[0]] = (cols[2], cols[3])
    return got


def predictions(contacts, labels, tmp):
    dump = os.path.join(tmp, "predicted.ndjson")
    subprocess.run(
        [BIN, "taxonomy", "eval", "--contacts", contacts, "--labels", labels, "--dump", dump],
        capture_output=True, check=True,
    )
    return {p["id"]: set(p["topics"]) for p in map(json.loads, open(dump))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--drill", action="append", required=True)
    ap.add_argument("--budget", type=int, nargs="+", default=[0, 50, 200])
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    for drill in args.drill:
        contacts = [json.loads(l) for l in open(os.path.join(drill, "contacts.ndjson")) if l.strip()]
        labels = {l["id"]: l for l in map(json.loads, open(os.path.join(drill, "labels.ndjson")))}
        split = min(map(when, contacts)) + timedelta(days=7)
        tmp = tempfile.mkdtemp(prefix="feedback-")
        week1 = [c for c in contacts if when(c) < split]
        week2 = [c for c in contacts if when(c) >= split]
        paths = {}
        for name, part in (("week1", week1), ("week2", week2)):
            paths[name] = os.path.join(tmp, f"{name}.ndjson")
            with open(paths[name], "w") as f:
                f.writelines(json.dumps(c) + "\n" for c in part)
            with open(paths[name] + ".labels", "w") as f:
                f.writelines(json.dumps(labels[c["id"]]) + "\n" for c in part)
        said = predictions(paths["week1"], paths["week1"] + ".labels", tmp)
        wrong = [
            c for c in week1
            if said[c["id"]] & set(SECURITY) != set(labels[c["id"]]["topics"]) & set(SECURITY)
        ]
        rng = random.Random(args.seed)
        rng.shuffle(wrong)
        for budget in args.budget:
            model = None
            if budget:
                corpus = os.path.join(tmp, f"corpus{budget}")
                shutil.copytree(CORPUS, corpus)
                for c in wrong[:budget]:
                    topics = [t for t in labels[c["id"]]["topics"] if t] or ["other"]
                    text = " ".join(c["text"].split())
                    with open(os.path.join(corpus, f"{c.get('language') or 'en'}.tsv"), "a") as f:
                        f.write(f"{','.join(topics)}\t{text}\n")
                model = os.path.join(tmp, f"model{budget}.bin")
                subprocess.run(
                    [BIN, "taxonomy", "train", "--corpus", corpus, "--out", model],
                    capture_output=True, check=True,
                )
            got = evaluate(paths["week2"], paths["week2"] + ".labels", model)
            cells = "  ".join(f"{t} {p}/{r}" for t, (p, r) in got.items())
            print(f"{os.path.basename(drill)} corrections {budget:4d} (of {len(wrong)} wrong in week one): {cells}", flush=True)
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
