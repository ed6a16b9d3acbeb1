#!/usr/bin/env python3
"""Which hypotheses of each theorem are needed? For every hypothesis of 3.2, 4.1, 5.1 and 6.1,
runs a relaxed fuzz campaign (observe only), then re-runs the first finding alone (as shard
k/(k+1) of k+1 cases, which is exactly that case) with confirmation, shrinking and a
certificate. Prints a Markdown table for the README.

    python3 scripts/necessity.py [BINARY] [CASES]     # default target/release/attncert, 300
"""
import json
import os
import subprocess
import sys
import tempfile
import time

BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "attncert")
CASES = int(sys.argv[2]) if len(sys.argv) > 2 else 300
SEED = 1
THEOREMS = {
    "3.2": ["attention-full", "heads-one", "value-identity", "key-query-constant", "key-query-symmetric", "key-query-positive-definite", "metric-equals-P"],
    "4.1": ["attention-full", "value-identity", "key-query-bounded", "key-query-uniformly-continuous", "initial-hemisphere"],
    "5.1": ["attention-causal", "value-identity", "metric-identity", "key-query-bounded", "initial-no-antipode"],
    "6.1": ["attention-causal", "heads-one", "metric-identity", "key-query-bounded", "value-constant", "value-symmetric", "value-simple-top-eigenvalue", "value-top-eigenvalue-positive", "initial-eigen-hemisphere"],
}


def campaign(args):
    started = time.time()
    out = subprocess.run([BIN, "fuzz", *args, "--format", "jsonl"], capture_output=True, text=True)
    if out.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)}: exit {out.returncode}: {out.stderr}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()], time.time() - started


def main():
    print(f"| theorem | relaxed hypothesis | cases run (passed the filter) | findings | first finding | seconds | first finding, confirmed and certified |")
    print("|---|---|---|---|---|---|---|")
    for theorem, hyps in THEOREMS.items():
        for h in hyps:
            recs, secs = campaign(["--theorem", theorem, "--relax", h, "--cases", str(CASES), "--seed", str(SEED), "--observe-only"])
            counted = [r for r in recs if r["class"] not in ("no-case", "error")]
            findings = [r for r in recs if r["class"] in ("lyapunov-increase", "wrong-limit", "stalled")]
            kinds = {}
            for r in findings:
                kinds[r["class"]] = kinds.get(r["class"], 0) + 1
            shown = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) or "none"
            if findings:
                first = findings[0]["case"]
                with tempfile.TemporaryDirectory() as d:
                    again, _ = campaign(["--theorem", theorem, "--relax", h, "--cases", str(first + 1), "--seed", str(SEED), "--shard", f"{first}/{first + 1}", "--out", d])
                proof = again[0].get("proof", "") if again else ""
                conf = again[0].get("confirmation", "") if again else ""
                shrunk = again[0].get("shrunk") or {}
                size = f"ℓ = {shrunk.get('tokens')}, d = {shrunk.get('dim')}" if shrunk else ""
                if proof.startswith("verified:"):
                    status = f"certified ({size}): {proof[len('verified: '):].split(' for every')[0]}"
                elif conf.startswith("confirmed"):
                    status = f"confirmed, {proof}"
                else:
                    status = conf or "?"
                first_s = f"case {first}"
            else:
                status, first_s = "–", "–"
            print(f"| {theorem} | `{h}` | {len(recs)} ({len(counted)}) | {shown} | {first_s} | {secs:.1f} | {status} |", flush=True)


if __name__ == "__main__":
    main()
