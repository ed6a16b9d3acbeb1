#!/usr/bin/env python3
"""The README's MiniLM table and plot: every layer of all-MiniLM-L6-v2 imported, checked and
simulated on one sentence.

    M=$(scripts/fetch_minilm.sh)
    python3 -m venv v && v/bin/pip install numpy matplotlib
    v/bin/python scripts/minilm_table.py "$M" [--bin target/release/attncert] [--out docs/minilm]

Per layer: `attncert import`, `attncert check --format json` (the verdicts: exact or interval
proofs), `attncert simulate --until 50 --samples 51 --format json` (E(t), float) and the looped
layer `--discrete --tau 1 --until 24`. Float diagnostics of the imported factors (NumPy, labelled
as such, not proofs): per head ‖U − Uᵀ‖₂/‖U‖₂, U's eigenvalue of largest real part (real? simple?
positive?), the inertia of P's symmetric part. Clusters at the end: the tokens of the float flow
at t = 50 (RK4 in NumPy, h = 0.02, its E(t) checked against attncert's), grouped by single
linkage with cosine > 0.99.

Writes OUT/minilm_layers.md (the table), OUT/minilm_heads.md (per head), OUT/minilm_E.png.
"""
import argparse
import json
import os
import struct
import subprocess
import sys

import numpy as np

TEXT = "The quick brown fox jumps over the lazy dog near the river bank."


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        dt = {"F32": np.float32, "F64": np.float64}[info["dtype"]]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=dt).reshape(info["shape"]).astype(np.float64)
    return out


def read_tokens(toml_path):
    rows, inside = [], False
    for line in open(toml_path):
        if line.startswith("tokens = ["):
            inside = True
            continue
        if inside:
            if line.startswith("]"):
                break
            rows.append([float(x) for x in line.strip().strip(",").strip("[]").split(",")])
    return np.array(rows)


def rhs_factory(heads):
    """heads: list of (A_P, B_P, A_U, B_U) with P = A_P B_P, U = A_U B_U; tokens are rows of Y."""
    def f(Y):
        dY = np.zeros_like(Y)
        for ap, bp, au, bu in heads:
            s = (Y @ ap) @ (bp @ Y.T)  # s_ij = y_i^T P y_j
            a = np.exp(s - s.max(axis=1, keepdims=True))
            a /= a.sum(axis=1, keepdims=True)
            uy = (Y @ bu.T) @ au.T  # rows U y_j
            g = np.einsum("ij,ij->i", a, Y @ uy.T)  # sum_j a_ij y_i^T U y_j
            dY += a @ uy - g[:, None] * Y
        return dY
    return f


def misalignment(Y):
    # E = max over pairs of 1 - cos, as a simple consensus measure for the float cross-check.
    c = Y @ Y.T
    return float(1 - c.min())


def clusters(Y, thr=0.99):
    n = len(Y)
    c = Y @ Y.T
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    for i in range(n):
        for j in range(i + 1, n):
            if c[i, j] > thr:
                parent[find(i)] = find(j)
    return len({find(i) for i in range(n)})


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--bin", default="target/release/attncert")
    ap.add_argument("--out", default="docs/minilm")
    ap.add_argument("--text", default=TEXT)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    work = os.path.join(a.out, "work")
    os.makedirs(work, exist_ok=True)
    layer_rows, head_rows, curves = [], [], {}
    for layer in range(6):
        sysf = os.path.join(work, f"layer{layer}.toml")
        code, out, err = run([a.bin, "import", a.model, "--layer", str(layer), "--text", a.text, "-o", sysf])
        assert code == 0, err
        code, out, err = run([a.bin, "check", sysf, "--format", "json"])
        verdicts = {}
        rep = json.loads(out)
        for th in rep["theorems"] if isinstance(rep, dict) and "theorems" in rep else rep:
            for h in th["hypotheses"]:
                verdicts[h["id"]] = h["verdict"]
            verdicts["theorem " + th["id"]] = th["verdict"]
        code, out, err = run([a.bin, "simulate", sysf, "--until", "50", "--samples", "51", "--format", "json"])
        sim = json.loads(out)
        E = [(s["t"], s["E"]) for s in sim["samples"]]
        code, out, err = run([a.bin, "simulate", sysf, "--discrete", "--tau", "1", "--until", "24", "--format", "json"])
        disc = json.loads(out)
        Ed = [(s["t"], s["E"]) for s in disc["samples"]]
        curves[layer] = (E, Ed)
        w = read_safetensors(os.path.join(work, f"layer{layer}.safetensors"))
        nh = len([k for k in w if k.endswith(".WQ")])
        dh = w["h0.WQ"].shape[0]
        heads = []
        for h in range(nh):
            wq, wk, wv, wo = (w[f"h{h}.{n}"] for n in ["WQ", "WK", "WV", "WO"])
            P = wq.T @ wk / np.sqrt(dh)
            U = wo @ wv
            heads.append((wq.T / np.sqrt(dh), wk, wo, wv))
            asym = np.linalg.norm(U - U.T, 2) / np.linalg.norm(U, 2)
            ev = np.linalg.eigvals(U)
            top = ev[np.argmax(ev.real)]
            second = np.sort(ev.real)[-2]
            ps = np.linalg.eigvalsh((P + P.T) / 2)
            tol = 1e-9 * np.abs(ps).max()
            head_rows.append((layer, h, asym, top, second, int((ps > tol).sum()), int((ps < -tol).sum())))
        Y = read_tokens(sysf)
        Y /= np.linalg.norm(Y, axis=1, keepdims=True)
        f = rhs_factory(heads)
        h_step, T = 0.02, 50.0
        t, checks = 0.0, {}
        for k in range(int(round(T / h_step))):
            k1 = f(Y); k2 = f(Y + h_step / 2 * k1); k3 = f(Y + h_step / 2 * k2); k4 = f(Y + h_step * k3)
            Y = Y + h_step / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            Y /= np.linalg.norm(Y, axis=1, keepdims=True)
            t = (k + 1) * h_step
        ncl = clusters(Y)
        hyp_fail = sorted(k for k, v in verdicts.items() if v == "fails" and not k.startswith("theorem"))
        thm = ", ".join(f"{k.split()[1]} {v}" for k, v in verdicts.items() if k.startswith("theorem"))
        asy = [r[2] for r in head_rows if r[0] == layer]
        tops = [r[3] for r in head_rows if r[0] == layer]
        real_pos = sum(1 for z in tops if abs(z.imag) < 1e-9 and z.real > 0)
        Eat = dict(E)
        layer_rows.append((layer, thm, hyp_fail, min(asy), max(asy), real_pos, nh,
                           Eat[0.0], Eat.get(10.0), Eat[50.0], dict(Ed)[24.0], ncl, len(Y)))
        print(f"layer {layer}: E(0) {Eat[0.0]:.3g} E(50) {Eat[50.0]:.3g} clusters {ncl}", file=sys.stderr)
    with open(os.path.join(a.out, "minilm_layers.md"), "w") as fo:
        fo.write(f"Text: \"{a.text}\" ({layer_rows[0][12]} tokens with [CLS] and [SEP]).\n\n")
        fo.write("| layer | theorems (check) | ‖U−Uᵀ‖₂/‖U‖₂ over heads (float) | heads whose top eigenvalue of U (largest real part) is real and > 0 (float) | E(0) | E(10) | E(50) | E after 24 loops (τ = 1) | clusters at t = 50 (cos > 0.99) |\n")
        fo.write("|---|---|---|---|---|---|---|---|---|\n")
        for r in layer_rows:
            fo.write(f"| {r[0]} | {r[1]} | {r[3]:.2f} – {r[4]:.2f} | {r[5]}/{r[6]} | {r[7]:.3g} | {r[8]:.3g} | {r[9]:.3g} | {r[10]:.3g} | {r[11]} |\n")
        fo.write("\nHypotheses that fail (every layer): " + ", ".join(layer_rows[0][2]) + "\n")
    with open(os.path.join(a.out, "minilm_heads.md"), "w") as fo:
        fo.write("Per head, float diagnostics of the imported factors (NumPy; not proofs).\n\n")
        fo.write("| layer | head | ‖U−Uᵀ‖₂/‖U‖₂ | top eigenvalue of U (largest real part) | next real part | sym(P): positive / negative eigenvalues (of 384) |\n|---|---|---|---|---|---|\n")
        for r in head_rows:
            z = r[3]
            zs = f"{z.real:.4g}" if abs(z.imag) < 1e-9 else f"{z.real:.4g} ± {abs(z.imag):.3g}i"
            fo.write(f"| {r[0]} | {r[1]} | {r[2]:.3f} | {zs} | {r[4]:.4g} | {r[5]} / {r[6]} |\n")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
        for layer, (E, Ed) in curves.items():
            ax[0].semilogy([t for t, _ in E], [max(e, 1e-17) for _, e in E], label=f"layer {layer}")
            ax[1].semilogy([t for t, _ in Ed], [max(e, 1e-17) for _, e in Ed], marker=".", label=f"layer {layer}")
        ax[0].set_title("attention ODE (7), continuous"); ax[0].set_xlabel("t"); ax[0].set_ylabel("E(t)")
        ax[1].set_title("layer looped (τ = 1)"); ax[1].set_xlabel("passes")
        ax[0].legend(fontsize=7)
        fig.suptitle("all-MiniLM-L6-v2: misalignment E of a sentence's tokens under each layer's attention")
        fig.tight_layout()
        fig.savefig(os.path.join(a.out, "minilm_E.png"), dpi=110)
    except ImportError:
        print("matplotlib missing: no plot", file=sys.stderr)


if __name__ == "__main__":
    main()
