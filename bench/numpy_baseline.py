#!/usr/bin/env python3
"""NumPy/SciPy reference implementation of the attention dynamics simulated by attncert.

It integrates the same system as ``attncert simulate`` so the two can be timed side by side
(the Rust counterpart of this script is ``bench/fastpath.rs``).

Input is a JSON system file written by the Rust tool, in which every random draw and default
has been made explicit::

    target/release/attncert export theorems/examples/sec7_4.toml -o /tmp/sec7_4.json

Run (from the repository root)::

    OMP_NUM_THREADS=1 python3 bench/numpy_baseline.py /tmp/sec7_4.json \\
        --until 150 --rtol 1e-8 --atol 1e-10 --at 50,150 [--method DOP853] [--json]

Use ``OMP_NUM_THREADS=1`` (read by OpenBLAS/MKL when NumPy is imported) for a one-core
comparison with the single-threaded Rust kernel; without it BLAS may use every core.

The model. Tokens ``y_i`` in R^d are the columns of ``Y`` (d x l), first normalised onto
``E_W``: ``y <- y / sqrt(y^T W y)``. Per head (P, U) at time t::

    S     = Y^T P(t) Y                        S_ij = y_i^T P y_j
    alpha = row-softmax(S), max-shifted,      masked to j <= i for "causal";
            rows further divided by sqrt(d)   for normalization "paper"
    dY    = sum over heads of  (U Y) alpha^T - Y diag(rowsum(alpha o ((W Y)^T (U Y))))

i.e. ``dy_i/dt = sum_heads sum_j alpha_ij (U y_j - (y_i^T W U y_j) y_i)``, computed with BLAS
matrix products (no Python loop over tokens). ``P = diag(D(t)) P'`` is applied as
``D(t)[:, None] * (P' @ Y)``.

What it measures:

1. right-hand-side evaluations per second at the initial state (a loop of ~2 s);
2. one trajectory with ``scipy.integrate.solve_ivp`` (RK45 by default, or DOP853) from 0 to
   ``--until``: wall time, nfev (every right-hand-side evaluation, including the two of the
   initial step selection), accepted and rejected steps (counted by a thin subclass of the
   solver), the misalignment ``E(y) = 1 - (1/l) sum_i cos(y_1, y_i)`` at each ``--at`` time
   (read from the solver's dense interpolant via ``t_eval``), and the drift
   ``max_i |y_i^T W y_i - 1|`` at the end (SciPy does not project back onto ``E_W``).

Layered (piecewise-constant) matrices are integrated segment by segment between layer
boundaries, with each segment using its own layer throughout, as the Rust integrator does.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import sys
import time
from dataclasses import dataclass

import numpy as np
import scipy
from scipy.integrate import DOP853, RK45, solve_ivp

# -------------------------------------------------------------------------------------------
# Expressions in t
# -------------------------------------------------------------------------------------------

#: The functions of the expression grammar (src/system/expr.rs), mapped to NumPy ufuncs.
FUNCTIONS = {
    "sin": np.sin,
    "cos": np.cos,
    "exp": np.exp,
    "abs": np.abs,
    "sqrt": np.sqrt,
    "sign": np.sign,
}
_ALLOWED_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_ALLOWED_UNARY = (ast.UAdd, ast.USub)


def parse_expression(text: str) -> ast.Expression:
    """Parse one entry (``2*cos(10*pi*t)``, ``-0.5 + t^2/3``) into a checked Python AST.

    ``^`` becomes ``**``; Python's precedence then matches the attncert grammar
    (``-t^2 = -(t^2)``, right-associative powers). Anything outside the grammar is rejected.
    """
    tree = ast.parse(text.replace("^", "**"), mode="eval")
    for node in ast.walk(tree):
        if isinstance(node, (ast.Expression, ast.Load)):
            continue
        if isinstance(node, ast.BinOp) and isinstance(node.op, _ALLOWED_BINOPS):
            continue
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, _ALLOWED_UNARY):
            continue
        if isinstance(node, _ALLOWED_BINOPS + _ALLOWED_UNARY):
            continue
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            continue
        if isinstance(node, ast.Name) and node.id in ("t", "pi"):
            continue
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in FUNCTIONS
            and len(node.args) == 1
            and not node.keywords
        ):
            continue
        if isinstance(node, ast.Name) and node.id in FUNCTIONS:
            continue  # the callee of an allowed call
        raise ValueError(f"unsupported syntax in expression {text!r}: {ast.dump(node)}")
    return tree


class _Templater(ast.NodeTransformer):
    """Replace numeric literals by slot names ``_c0, _c1, ...`` (exponents stay literal).

    Two entries with the same template differ only in their constants, so a whole group can
    be evaluated at once with each slot bound to the array of that constant over the group.
    """

    def __init__(self) -> None:
        self.values: list[float] = []

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node.left = self.visit(node.left)
        if not isinstance(node.op, ast.Pow):  # integer exponents are part of the template
            node.right = self.visit(node.right)
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            return self._slot(-float(node.operand.value))  # fold the sign into the constant
        return self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        return self._slot(float(node.value))

    def _slot(self, value: float) -> ast.Name:
        self.values.append(value)
        return ast.Name(id=f"_c{len(self.values) - 1}", ctx=ast.Load())


@dataclass
class _Group:
    """Entries sharing one template: one compiled expression, evaluated on arrays."""

    indices: np.ndarray
    code: object
    env: dict


class ExprVector:
    """A vector of scalar entries (numbers or expression strings in t), evaluated in one go.

    Entries are grouped by expression template (see :class:`_Templater`); each group is one
    compiled, vectorised NumPy expression. 500 entries ``abs(2*sin(a_k*t + b_k))`` thus cost
    one ``sin`` and one ``abs`` over a 500-vector per call, not 500 Python evaluations.
    Vectors that do not depend on t are evaluated once.
    """

    def __init__(self, entries: list) -> None:
        self.size = len(entries)
        self.depends_on_t = False
        groups: dict[str, tuple[ast.Expression, list[int], list[list[float]]]] = {}
        for k, entry in enumerate(entries):
            if isinstance(entry, bool) or not isinstance(entry, (int, float, str)):
                raise ValueError(f"matrix entry must be a number or an expression, got {entry!r}")
            tree = parse_expression(str(entry))
            if any(isinstance(n, ast.Name) and n.id == "t" for n in ast.walk(tree)):
                self.depends_on_t = True
            templater = _Templater()
            template = ast.fix_missing_locations(templater.visit(tree))
            key = ast.dump(template)
            if key not in groups:
                groups[key] = (template, [], [])
            groups[key][1].append(k)
            groups[key][2].append(templater.values)
        self._groups = []
        for template, indices, values in groups.values():
            env = {"__builtins__": {}, "pi": math.pi, "t": 0.0, **FUNCTIONS}
            columns = np.array(values, dtype=float).reshape(len(indices), -1).T
            env.update({f"_c{s}": np.ascontiguousarray(col) for s, col in enumerate(columns)})
            code = compile(template, "<attncert expression>", "eval")
            self._groups.append(_Group(np.array(indices), code, env))
        self._constant = None if self.depends_on_t else self._evaluate(0.0)

    def _evaluate(self, t: float) -> np.ndarray:
        out = np.empty(self.size)
        for g in self._groups:
            g.env["t"] = t
            out[g.indices] = eval(g.code, g.env)  # noqa: S307 - AST checked by parse_expression
        return out

    def __call__(self, t: float) -> np.ndarray:
        return self._constant if self._constant is not None else self._evaluate(t)


# -------------------------------------------------------------------------------------------
# Matrices of t, applied to the token matrix Y (d x l)
# -------------------------------------------------------------------------------------------


class MatrixOp:
    """A d x d matrix function of t, applied as ``apply(t, Y) = M(t) @ Y``.

    ``tl`` is the time used to pick a layer of a layer schedule (equal to ``t`` except when
    integrating segment by segment, see :func:`integrate`).
    """

    is_identity = False
    is_zero = False

    def apply(self, t: float, Y: np.ndarray, tl: float) -> np.ndarray:
        raise NotImplementedError

    def constant_matrix(self, d: int) -> np.ndarray | None:
        """The matrix if it does not depend on t, else None."""
        return None

    def breakpoints(self, t0: float, t1: float) -> set[float]:
        """Times in (t0, t1) where the matrix jumps (layer boundaries)."""
        return set()


class Identity(MatrixOp):
    is_identity = True

    def apply(self, t, Y, tl):
        return Y

    def constant_matrix(self, d):
        return np.eye(d)


class Zero(MatrixOp):
    is_zero = True

    def apply(self, t, Y, tl):
        return np.zeros_like(Y)

    def constant_matrix(self, d):
        return np.zeros((d, d))


class Dense(MatrixOp):
    """Rows of numbers (constant) or of expressions (rebuilt at each t)."""

    def __init__(self, rows: list, d: int) -> None:
        if len(rows) != d or any(not isinstance(r, list) or len(r) != d for r in rows):
            raise ValueError(f"expected a {d}x{d} matrix")
        flat = [x for row in rows for x in row]
        if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in flat):
            self._entries = None
            self._matrix = np.array(rows, dtype=float)
        else:
            self._entries = ExprVector(flat)
            self._matrix = None if self._entries.depends_on_t else self._entries(0.0).reshape(d, d)
        self._d = d

    def apply(self, t, Y, tl):
        m = self._matrix if self._matrix is not None else self._entries(t).reshape(self._d, self._d)
        return m @ Y

    def constant_matrix(self, d):
        return self._matrix


class Diag(MatrixOp):
    """``diag(D(t)) @ inner``, applied as ``D(t)[:, None] * (inner @ Y)``."""

    def __init__(self, diag: ExprVector, inner: MatrixOp) -> None:
        self._diag, self._inner = diag, inner

    def apply(self, t, Y, tl):
        return self._diag(t)[:, None] * self._inner.apply(t, Y, tl)

    def constant_matrix(self, d):
        inner = self._inner.constant_matrix(d)
        if self._diag.depends_on_t or inner is None:
            return None
        return self._diag(0.0)[:, None] * inner

    def breakpoints(self, t0, t1):
        return self._inner.breakpoints(t0, t1)


class Scalar(MatrixOp):
    """``s(t) * inner``."""

    def __init__(self, scalar: ExprVector, inner: MatrixOp) -> None:
        self._scalar, self._inner = scalar, inner

    def apply(self, t, Y, tl):
        return self._scalar(t)[0] * self._inner.apply(t, Y, tl)

    def constant_matrix(self, d):
        inner = self._inner.constant_matrix(d)
        if self._scalar.depends_on_t or inner is None:
            return None
        return self._scalar(0.0)[0] * inner

    def breakpoints(self, t0, t1):
        return self._inner.breakpoints(t0, t1)


class Layers(MatrixOp):
    """Layer k on [k tau, (k+1) tau); periodic repeats the list, else the last layer holds."""

    def __init__(self, layers: list[MatrixOp], tau: float, periodic: bool) -> None:
        if not layers or tau <= 0:
            raise ValueError("a layer schedule needs at least one layer and layer_time > 0")
        self._layers, self._tau, self._periodic = layers, tau, periodic

    def _index(self, tl: float) -> int:
        k = max(int(math.floor(tl / self._tau)), 0)
        return k % len(self._layers) if self._periodic else min(k, len(self._layers) - 1)

    def apply(self, t, Y, tl):
        return self._layers[self._index(tl)].apply(t, Y, tl)

    def constant_matrix(self, d):
        return self._layers[0].constant_matrix(d) if len(self._layers) == 1 else None

    def breakpoints(self, t0, t1):
        last = math.inf if self._periodic else (len(self._layers) - 1) * self._tau
        points = set()
        k = math.floor(t0 / self._tau) + 1
        while k * self._tau < t1 and k * self._tau <= last:
            points.add(k * self._tau)
            k += 1
        for layer in self._layers:
            points |= layer.breakpoints(t0, t1)
        return points


def compile_matrix(spec, d: int) -> MatrixOp:
    """Translate a MATRIX of the JSON system file into a :class:`MatrixOp`."""
    if spec == "identity":
        return Identity()
    if spec == "zero":
        return Zero()
    if isinstance(spec, list):
        return Dense(spec, d)
    if isinstance(spec, dict):
        inner = compile_matrix(spec["times"], d) if "times" in spec else Identity()
        if "diag" in spec:
            if len(spec["diag"]) != d:
                raise ValueError(f"diag needs {d} entries, got {len(spec['diag'])}")
            return Diag(ExprVector(spec["diag"]), inner)
        if "scalar" in spec:
            return Scalar(ExprVector([spec["scalar"]]), inner)
        if "layers" in spec:
            layers = [compile_matrix(layer, d) for layer in spec["layers"]]
            return Layers(layers, float(spec["layer_time"]), bool(spec.get("periodic", False)))
    raise ValueError(f"unknown matrix specification: {str(spec)[:200]}")


# -------------------------------------------------------------------------------------------
# The system and its right-hand side
# -------------------------------------------------------------------------------------------


@dataclass
class Model:
    """A compiled system: everything the right-hand side needs."""

    name: str
    tokens: int
    dim: int
    causal: bool
    row_scale: float  # 1/sqrt(d) for "paper", 1 for "softmax"
    heads: list[tuple[MatrixOp, MatrixOp]]  # (P, U)
    W: np.ndarray | None  # None for the identity metric
    Y0: np.ndarray  # initial tokens on E_W, d x l

    @staticmethod
    def from_json(doc: dict) -> "Model":
        ell, d = int(doc["tokens"]), int(doc["dim"])
        if doc.get("attention", "full") not in ("full", "causal"):
            raise ValueError(f"unknown attention {doc['attention']!r}")
        if doc.get("normalization", "paper") not in ("paper", "softmax"):
            raise ValueError(f"unknown normalization {doc['normalization']!r}")
        heads = [(compile_matrix(h["P"], d), compile_matrix(h["U"], d)) for h in doc["heads"]]
        metric = doc.get("metric", "identity")
        if metric == "identity":
            W = None
        elif metric == "P":
            if len(heads) != 1 or heads[0][0].constant_matrix(d) is None:
                raise ValueError('metric "P" needs a single head with a constant P')
            W = heads[0][0].constant_matrix(d)
        else:
            W = compile_matrix(metric, d).constant_matrix(d)
            if W is None:
                raise ValueError("the metric W must not depend on t")
        tokens = np.array(doc["initial"]["tokens"], dtype=float)
        if tokens.shape != (ell, d):
            raise ValueError(f"initial.tokens must be {ell} rows of {d} numbers")
        Y0 = np.ascontiguousarray(tokens.T)
        Y0 /= np.sqrt(quadratic_forms(Y0, W))
        return Model(
            name=doc.get("name", ""),
            tokens=ell,
            dim=d,
            causal=doc.get("attention", "full") == "causal",
            row_scale=1.0 / math.sqrt(d) if doc.get("normalization", "paper") == "paper" else 1.0,
            heads=heads,
            W=W,
            Y0=Y0,
        )

    def breakpoints(self, t0: float, t1: float) -> list[float]:
        points: set[float] = set()
        for P, U in self.heads:
            points |= P.breakpoints(t0, t1) | U.breakpoints(t0, t1)
        return sorted(points)


def quadratic_forms(Y: np.ndarray, W: np.ndarray | None) -> np.ndarray:
    """``y_i^T W y_i`` for every column of Y."""
    WY = Y if W is None else W @ Y
    return np.einsum("ki,ki->i", Y, WY)


def misalignment(Y: np.ndarray) -> float:
    """``E(y) = 1 - (1/l) sum_i (y_1^T y_i) / (|y_1| |y_i|)`` (Euclidean cosines)."""
    norms = np.linalg.norm(Y, axis=0)
    cosines = (Y[:, 0] @ Y) / (norms[0] * norms)
    return float(1.0 - cosines.mean())


def make_rhs(model: Model, layer_time=None):
    """The batched right-hand side ``f(t, y)`` on the flattened d x l token matrix.

    ``layer_time``, if given, is the time at which layer schedules are read (constant over an
    integration segment); otherwise they are read at t.
    """
    d, ell = model.dim, model.tokens
    W = model.W
    mask = np.triu(np.full((ell, ell), -np.inf), k=1) if model.causal else None
    row_scale = model.row_scale
    heads = model.heads
    any_identity_u = any(U.is_identity for _, U in heads)

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        tl = t if layer_time is None else layer_time
        Y = y.reshape(d, ell)
        WYt = (Y if W is None else W @ Y).T  # l x d, rows (W y_i)^T
        dY = np.zeros((d, ell))
        coeff = np.zeros(ell)  # sum_heads sum_j alpha_ij y_i^T W U y_j
        alpha_id = np.zeros((ell, ell)) if any_identity_u else None  # heads with U = I
        for P, U in heads:
            S = Y.T @ P.apply(t, Y, tl)  # S_ij = y_i^T P y_j
            if mask is not None:
                S += mask
            S -= S.max(axis=1, keepdims=True)
            alpha = np.exp(S, out=S)
            alpha *= row_scale / alpha.sum(axis=1, keepdims=True)
            if U.is_identity:
                alpha_id += alpha
            elif not U.is_zero:
                UY = U.apply(t, Y, tl)
                dY += UY @ alpha.T
                coeff += np.einsum("ij,ij->i", alpha, WYt @ UY)
        if any_identity_u:
            dY += Y @ alpha_id.T
            coeff += np.einsum("ij,ij->i", alpha_id, WYt @ Y)
        dY -= Y * coeff
        return dY.ravel()

    return rhs


# -------------------------------------------------------------------------------------------
# Measurements
# -------------------------------------------------------------------------------------------


def measure_rhs(model: Model, seconds: float) -> dict:
    """Right-hand-side evaluations per second at the initial state (t = 0)."""
    rhs = make_rhs(model)
    y0 = model.Y0.ravel()
    for _ in range(3):  # warm-up (BLAS threads, caches)
        rhs(0.0, y0)
    n, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        rhs(0.0, y0)
        n += 1
        now = time.perf_counter()
        if now >= deadline:
            break
    elapsed = now - start
    return {"rhs_evals": n, "rhs_seconds": elapsed, "rhs_evals_per_s": n / elapsed}


def counting_solver(base):
    """A subclass of a SciPy Runge–Kutta solver counting accepted and rejected steps.

    ``_step_impl`` loops over rejected attempts until one is accepted; every attempt costs
    exactly ``n_stages`` evaluations (the FSAL stage included), so the evaluations made inside
    one call give the number of attempts. It also keeps the state after the last step.
    """
    stats = {"accepted": 0, "attempts": 0, "y": None}  # y: the state after the last step

    class Counting(base):
        def _step_impl(self):
            before = self.nfev
            ok, message = super()._step_impl()
            stats["attempts"] += (self.nfev - before) // self.n_stages
            stats["accepted"] += int(ok)
            stats["y"] = self.y
            return ok, message

    Counting.__name__ = f"Counting{base.__name__}"
    return Counting, stats


def integrate(model: Model, until: float, at: list[float], method: str, rtol: float, atol: float) -> dict:
    """One trajectory with solve_ivp; E at the --at times, counts, final drift off E_W.

    Between layer boundaries (if any) each segment is a separate solve_ivp call whose layer
    schedules are read at the segment midpoint, so no step straddles a jump.
    """
    solver, stats = counting_solver({"RK45": RK45, "DOP853": DOP853}[method])
    edges = [0.0, *model.breakpoints(0.0, until), until]
    layered = len(edges) > 2
    y = model.Y0.ravel().copy()
    samples: dict[float, float] = {0.0: misalignment(model.Y0)}
    nfev, status, message = 0, 0, ""
    start = time.perf_counter()
    for a, b in zip(edges[:-1], edges[1:]):
        rhs = make_rhs(model, layer_time=0.5 * (a + b) if layered else None)
        t_eval = sorted({s for s in at if a < s <= b})  # values from the dense interpolant
        sol = solve_ivp(rhs, (a, b), y, method=solver, rtol=rtol, atol=atol, t_eval=t_eval)
        nfev += sol.nfev
        status, message = sol.status, sol.message
        if sol.status != 0:
            break
        for k, s in enumerate(t_eval):
            samples[s] = misalignment(sol.y[:, k].reshape(model.dim, model.tokens))
        y = stats["y"]  # the solver's own state at t = b (not an interpolated value)
    wall = time.perf_counter() - start
    Y = y.reshape(model.dim, model.tokens)
    return {
        "wall_s": wall,
        "nfev": nfev,
        "steps_accepted": stats["accepted"],
        "steps_rejected": stats["attempts"] - stats["accepted"],
        "E": [{"t": s, "E": samples.get(s)} for s in at],
        "drift_end": float(np.max(np.abs(quadratic_forms(Y, model.W) - 1.0))),
        "status": status,
        "message": message,
    }


# -------------------------------------------------------------------------------------------
# Environment and command line
# -------------------------------------------------------------------------------------------


def blas_info() -> dict:
    """NumPy/SciPy versions, the BLAS NumPy was built against, and the thread settings."""
    blas = "unknown"
    try:
        deps = np.show_config(mode="dicts").get("Build Dependencies", {})  # numpy >= 1.25
        b = deps.get("blas", {})
        blas = f"{b.get('name', '?')} {b.get('version', '')}".strip()
    except Exception:  # older NumPy: not worth parsing the printed config
        pass
    env = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ}
    threads = None
    try:
        from threadpoolctl import threadpool_info  # optional: the actual BLAS pool size

        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        threads = pools[0]["num_threads"] if pools else None
    except ImportError:
        pass
    if threads is None:
        first = next(iter(env.values()), None)
        threads = int(first) if first and first.isdigit() else None
    return {
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "blas": blas,
        "threads": threads,
        "thread_env": env,
        "cpus": os.cpu_count(),
    }


def parse_times(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated times, got {text!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="NumPy/SciPy baseline for attncert: RHS evaluations/s and one timed trajectory.",
        epilog="Run with OMP_NUM_THREADS=1 for a one-core comparison.",
    )
    parser.add_argument("system", help="JSON system file written by `attncert export`")
    parser.add_argument("--until", type=float, help="final time (default: the last --at time, else 10)")
    parser.add_argument("--at", type=parse_times, default=None, help="comma-separated report times")
    parser.add_argument("--method", choices=["RK45", "DOP853"], default="RK45")
    parser.add_argument("--rtol", type=float, default=1e-8)
    parser.add_argument("--atol", type=float, default=1e-10)
    parser.add_argument("--rhs-seconds", type=float, default=2.0, help="duration of the RHS timing loop (0: skip)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = parser.parse_args(argv)

    until = args.until if args.until is not None else (max(args.at) if args.at else 10.0)
    at = args.at if args.at else [until]
    if any(s < 0 or s > until for s in at):
        parser.error("every --at time must lie in [0, --until]")

    info = blas_info()
    t0 = time.perf_counter()
    with open(args.system) as f:
        model = Model.from_json(json.load(f))
    setup = time.perf_counter() - t0

    result = {
        "system": model.name,
        "file": args.system,
        "tokens": model.tokens,
        "dim": model.dim,
        "heads": len(model.heads),
        "method": args.method,
        "rtol": args.rtol,
        "atol": args.atol,
        "until": until,
        **info,
        "setup_s": setup,
    }
    if not args.json:
        threads = info["threads"] if info["threads"] is not None else "BLAS default"
        print(
            f"numpy {info['numpy']}, scipy {info['scipy']}, BLAS {info['blas']}, "
            f"threads {threads} ({', '.join(f'{k}={v}' for k, v in info['thread_env'].items()) or 'no thread env set'}; {info['cpus']} CPUs)"
        )
        print(f"system: {model.name} ({model.tokens} tokens, d = {model.dim}, {len(model.heads)} heads); load+compile {setup:.2f} s")

    if args.rhs_seconds > 0:
        result.update(measure_rhs(model, args.rhs_seconds))
        if not args.json:
            r = result
            print(f"rhs: {r['rhs_evals_per_s']:.1f} evals/s ({1e6 / r['rhs_evals_per_s']:.1f} us/eval, {r['rhs_evals']} evals in {r['rhs_seconds']:.2f} s)")

    result.update(integrate(model, until, at, args.method, args.rtol, args.atol))
    if args.json:
        print(json.dumps(result))
    else:
        r = result
        print(f"{args.method} to t = {until:g} (rtol {args.rtol:g}, atol {args.atol:g}): {r['wall_s']:.2f} s wall, "
              f"nfev {r['nfev']}, steps {r['steps_accepted']} accepted + {r['steps_rejected']} rejected")
        for e in r["E"]:
            print(f"  E({e['t']:g}) = {e['E']:.12e}")
        print(f"  max_i |y_i^T W y_i - 1| at t = {until:g}: {r['drift_end']:.3e} (no projection)")
        if r["status"] != 0:
            print(f"  solver failed: {r['message']}")
    return 0 if result["status"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
