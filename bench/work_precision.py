#!/usr/bin/env python3
"""Work-precision study of `attncert simulate` on the paper's Section 7 systems.

For 7.1-7.4 and each method (dopri5, bs3, dop853, rk4 with pointwise coefficients; the moment
method: coefficients averaged over each step, with dopri5's or bs3's step cap or rk4's fixed
step; the defaults, which choose the method per system), at
a range of tolerances / step sizes, measures the error max |E - E_ref| at the sample times
against a tight DOP853 reference, the right-hand-side evaluations and the wall time (whole
process, so reading and set-up count). Runs the NumPy/SciPy baseline (bench/numpy_baseline.py,
OMP_NUM_THREADS=1) on 7.4 in the same run. Writes:

    bench/figures/work_precision.csv   every run: system, method, setting, evals, seconds, error
    bench/figures/work_precision.png   error against evaluations and against time, per system
    bench/figures/reference_*.csv      the references (reused when present: 7.4's takes minutes)

Run from the repository root, after `cargo build --release` and
`pip install -r bench/requirements.txt matplotlib`:

    python3 bench/work_precision.py [--binary target/release/attncert] [--no-numpy] [--fresh-reference]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIG = ROOT / "bench" / "figures"

# system -> (file, until, samples)
SYSTEMS = {
    "7.1": ("theorems/examples/sec7_1.toml", 30.0, 11),
    "7.2": ("theorems/examples/sec7_2.toml", 40.0, 11),
    "7.3": ("theorems/examples/sec7_3.toml", 50.0, 11),
    "7.4": ("theorems/examples/sec7_4.toml", 150.0, 16),
}

# (label, extra arguments, [settings]); "{}" in an argument is replaced by the setting. The
# moment method needs the reduced kernel (every U = I, ℓ ≤ d): of the paper's systems only 7.4.
SMOOTH = [
    ("dopri5", ["--method", "dopri5", "--rtol", "{}", "--atol", "1e-14", "--moments", "off"], ["1e-5", "1e-6", "1e-7", "1e-8", "1e-9", "1e-10"]),
    ("dop853", ["--method", "dop853", "--rtol", "{}", "--atol", "1e-14", "--moments", "off"], ["1e-6", "1e-7", "1e-8", "1e-9", "1e-10"]),
    ("rk4", ["--method", "rk4", "--step", "{}", "--moments", "off"], ["0.1", "0.05", "0.025", "0.0125"]),
    ("bs3", ["--method", "bs3", "--rtol", "{}", "--atol", "1e-14", "--moments", "off"], ["1e-6", "1e-8", "1e-10"]),
    ("defaults", [], [""]),
]
KINKED = [
    ("dopri5", ["--method", "dopri5", "--rtol", "{}", "--atol", "1e-12", "--moments", "off"], ["1e-6", "1e-7", "1e-8", "1e-9"]),
    ("dop853", ["--method", "dop853", "--rtol", "{}", "--atol", "1e-12", "--moments", "off"], ["1e-7", "1e-8"]),
    ("rk4", ["--method", "rk4", "--step", "{}", "--moments", "off"], ["0.1", "0.05"]),
    ("dopri5 + 2 moments (cap)", ["--method", "dopri5", "--rtol", "{}", "--atol", "1e-12", "--moments", "2"], ["1e-6", "1e-8", "1e-10"]),
    ("bs3 + 2 moments (cap)", ["--method", "bs3", "--rtol", "{}", "--atol", "1e-12", "--moments", "2"], ["1e-6", "1e-8", "1e-10"]),
    ("rk4 + 2 moments", ["--method", "rk4", "--step", "{}", "--moments", "2"], ["1", "0.5", "0.25", "0.125"]),
    ("rk4 + 3 moments", ["--method", "rk4", "--step", "{}", "--moments", "3"], ["0.5", "0.25", "0.125"]),
    ("defaults", [], [""]),
]


def run(binary: str, args: list[str]) -> tuple[dict | None, float]:
    start = time.perf_counter()
    p = subprocess.run([binary, "simulate", *args, "--format", "json"], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        print(f"  skipped ({p.stderr.strip()[:120]})", file=sys.stderr)
        return None, wall
    return json.loads(p.stdout), wall


def times_args(until: float, samples: int) -> list[str]:
    return ["--until", str(until), "--samples", str(samples)]


def reference(binary: str, name: str, fresh: bool) -> list[float]:
    path = FIG / f"reference_{name.replace('.', '_')}.csv"
    file, until, samples = SYSTEMS[name]
    if path.exists() and not fresh:
        with open(path) as f:
            return [float(r["E"]) for r in csv.DictReader(f)]
    # 7.4 at rtol 1e-11 (about 3 minutes, 360k evaluations): tighter does not converge in a
    # reasonable time; 7.1-7.3 at 1e-13.
    rtol, atol = ("1e-11", "1e-13") if name == "7.4" else ("1e-13", "1e-15")
    print(f"reference {name}: dop853 rtol {rtol} ...", file=sys.stderr)
    doc, _ = run(binary, [file, *times_args(until, samples), "--method", "dop853", "--rtol", rtol, "--atol", atol, "--moments", "off"])
    if doc is None:
        sys.exit(f"the reference run of {name} failed")
    es = [s["E"] for s in doc["samples"]]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t", "E"])
        for s in doc["samples"]:
            w.writerow([s["t"], repr(s["E"])])
    return es


def numpy_baseline(binary: str, until: float, samples: int, ref: list[float]) -> dict | None:
    with tempfile.TemporaryDirectory() as tmp:
        sysjson = os.path.join(tmp, "sec7_4.json")
        subprocess.run([binary, "export", SYSTEMS["7.4"][0], "-o", sysjson], check=True)
        at = ",".join(str(until * i / (samples - 1)) for i in range(samples))
        env = dict(os.environ, OMP_NUM_THREADS="1")
        # The 1e-7-accurate SciPy setting.
        cmd = [sys.executable, str(ROOT / "bench" / "numpy_baseline.py"), sysjson, "--until", str(until), "--at", at,
               "--rtol", "1e-7", "--atol", "1e-12", "--rhs-seconds", "0", "--json"]
        start = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - start
        if p.returncode != 0:
            print(f"numpy baseline failed: {p.stderr.strip()[:300]}", file=sys.stderr)
            return None
        doc = json.loads(p.stdout)
        es = [e["E"] for e in doc["E"]]
        err = max(abs(a - b) for a, b in zip(es, ref))
        return {"system": "7.4", "method": "NumPy+SciPy RK45", "setting": "rtol 1e-7 atol 1e-12", "evals": doc["nfev"],
                "seconds": wall, "error": err}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(ROOT / "target" / "release" / "attncert"))
    ap.add_argument("--no-numpy", action="store_true", help="skip the NumPy/SciPy baseline")
    ap.add_argument("--fresh-reference", action="store_true", help="recompute the cached references")
    ap.add_argument("--systems", default="7.1,7.2,7.3,7.4")
    ap.add_argument("--plot-only", action="store_true", help="redraw the figure from bench/figures/work_precision.csv")
    a = ap.parse_args()
    os.chdir(ROOT)
    FIG.mkdir(parents=True, exist_ok=True)
    if a.plot_only:
        with open(FIG / "work_precision.csv") as f:
            rows = [{**r, "evals": int(r["evals"]), "seconds": float(r["seconds"]), "error": float(r["error"])} for r in csv.DictReader(f)]
        plot(rows, a.systems.split(","))
        return
    rows = []
    for name in a.systems.split(","):
        file, until, samples = SYSTEMS[name]
        ref = reference(a.binary, name, a.fresh_reference)
        for label, args, settings in (KINKED if name == "7.4" else SMOOTH):
            for s in settings:
                doc, wall = run(a.binary, [file, *times_args(until, samples), *[x.replace("{}", s) for x in args]])
                if doc is None:
                    continue
                es = [x["E"] for x in doc["samples"]]
                err = max(abs(x - y) for x, y in zip(es, ref))
                row = {"system": name, "method": label, "setting": s, "evals": doc["stats"]["rhs_evals"], "seconds": wall, "error": err}
                print(f"{name:4} {label:26} {s:8} evals {row['evals']:7}  {wall:7.3f} s  error {err:.2e}", file=sys.stderr)
                rows.append(row)
        if name == "7.4" and not a.no_numpy:
            r = numpy_baseline(a.binary, until, samples, ref)
            if r:
                print(f"7.4  NumPy+SciPy RK45  evals {r['evals']}  {r['seconds']:.3f} s  error {r['error']:.2e}", file=sys.stderr)
                rows.append(r)
    with open(FIG / "work_precision.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["system", "method", "setting", "evals", "seconds", "error"])
        w.writeheader()
        for r in rows:
            w.writerow({**r, "seconds": f"{r['seconds']:.4f}", "error": f"{r['error']:.3e}"})
    plot(rows, [n for n in a.systems.split(",")])


def plot(rows: list[dict], systems: list[str]) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no figure (pip install matplotlib)", file=sys.stderr)
        return
    fig, axes = plt.subplots(len(systems), 2, figsize=(10, 3.2 * len(systems)), squeeze=False)
    for i, name in enumerate(systems):
        sub = [r for r in rows if r["system"] == name]
        for label in dict.fromkeys(r["method"] for r in sub):
            for j, key in enumerate(["evals", "seconds"]):
                pts = sorted((r for r in sub if r["method"] == label), key=lambda r: r[key])
                style = "*" if len(pts) == 1 else "o-"
                axes[i][j].loglog([p[key] for p in pts], [max(p["error"], 1e-16) for p in pts], style, label=label, ms=4)
        for j, key in enumerate(["right-hand-side evaluations", "wall time (s, whole process)"]):
            ax = axes[i][j]
            ax.set_xlabel(key)
            ax.set_ylabel("max |E − E_ref| at the samples")
            ax.set_title(f"Section {name}")
            ax.axhline(1e-7, color="grey", lw=0.5, ls="--")
            ax.grid(True, which="major", lw=0.3)
        axes[i][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(FIG / "work_precision.png", dpi=70)
    print(f"wrote {FIG / 'work_precision.png'}", file=sys.stderr)


if __name__ == "__main__":
    main()
