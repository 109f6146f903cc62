#!/usr/bin/env python3
"""check_csr_auc.py: issue 30's acceptance and benchmark on sparse customers.
`propscore gen --density D --features F` (planted truth: /truth/<t>/prob, the
generator's true probabilities), then in rounds, interleaved: propscore logreg
`--standardize scale` on P ranks (train, score), LightGBM and XGBoost
(THREADS threads, 100 trees of 31 leaves) on the same rows as one scipy CSR
matrix, each in its own process under /usr/bin/time -v (wall time and peak
resident memory; for propscore the largest rank's). Every model is judged on
propscore's validation rows (the id hash of host/core/rng.h, pstest.py's
validation_mask) against the planted truth's AUC on the same rows; the goal:
AUC >= truth - 0.002. Prints a table (medians over the rounds, the load at each
round) and writes it as JSON.
--l1 X: propscore logreg with `--l1 X` (OWL-QN). --select-l1 X,Y,...: choose
it first, without the judged validation rows: each value trains with
`--holdout 0.36` (rows whose id hash is >= 0.36) and is judged on the band
0.2 <= hash < 0.36 (training rows of the final fit, never the judged rows);
the best band AUC's value is then used. --adaptive X,Y,...: the adaptive
lasso on top (`--l1-weights`): the first fit at the --l1 value, then the
second fit's --l1 chosen the same way among X,Y,... (each trained with
`--holdout 0.36 --l1-weights` the first fit's band model, judged on the
band); the final model is the second fit with `--l1-weights` the first fit on
every training row (fit time: the two trains together). --oracles: scikit-learn's
LogisticRegression on the training rows (raw values, no penalty: what any
linear fit's estimation noise costs) and on the planted nonzero columns
only (the truth's support given: a bound for a sparsity-seeking fit).
  usage: check_csr_auc.py [--rows N] [--features F] [--density D] [--ranks P]
         [--rounds R] [--threads T] [--peers lightgbm,xgboost] [--dir DIR]
         [--bin PROPSCORE] [--json OUT] [--l1 X | --select-l1 X,Y,...] [--adaptive X,Y,...] [--oracles]
         [--train-args 'propscore train options']
  (internal: check_csr_auc.py --peer NAME --data FILE --threads T)"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

import h5py
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "cli"))
from pstest import validation_mask  # noqa: E402

TARGET = "buy"
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_rmaps_base_oversubscribe": "1", "OPENBLAS_NUM_THREADS": "1"}


def read_csr(path):
    import scipy.sparse as sp
    with h5py.File(path) as h:
        g = h["features_csr"]
        ptr, idx, val = g["indptr"][...], g["indices"][...], g["data"][...]
        f = len(h["feature_names"])
        return sp.csr_matrix((val, idx, ptr), shape=(len(ptr) - 1, f)), h["customer_id"][...], h["labels"][TARGET][...]


def peer(name, path, threads):
    """One peer's fit on the training rows and its validation AUC and predict speed (one JSON line)."""
    from sklearn.metrics import roc_auc_score
    X, ids, y = read_csr(path)
    va = validation_mask(ids)
    Xtr, Xva = X[~va], X[va]
    if name == "lightgbm":
        import lightgbm as lgb
        m = lgb.LGBMClassifier(n_estimators=100, num_leaves=31, learning_rate=0.1, verbose=-1, n_jobs=threads)
    else:
        import xgboost as xgb
        m = xgb.XGBClassifier(n_estimators=100, max_leaves=31, grow_policy="lossguide", max_depth=0,
                              learning_rate=0.1, tree_method="hist", n_jobs=threads)
    t0, c0 = time.time(), time.process_time()
    m.fit(Xtr, y[~va])
    fit, fit_cpu = time.time() - t0, time.process_time() - c0
    t0 = time.time()
    p = m.predict_proba(X)[:, 1]
    score = time.time() - t0
    print(json.dumps({"fit_s": fit, "fit_cpu_s": fit_cpu, "auc": roc_auc_score(y[va], p[va]),
                      "score_rows_s": X.shape[0] / score}))


LAST_CPU = [0.0]  # CPU seconds (user + system) of the last timed() command, every rank's summed


def timed(cmd, env=None):
    """Run cmd under /usr/bin/time -v: (stdout, wall seconds, peak resident MiB of its largest process).
    An mpirun command gets /usr/bin/time -v on each rank too (cmd's ranks: after "-n P"), so that
    LAST_CPU holds the ranks' CPU seconds and the peak is the largest rank's."""
    cmd = [str(c) for c in cmd]
    if cmd[0] == "mpirun":
        cmd = cmd[:3] + ["/usr/bin/time", "-v"] + cmd[3:]
    r = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True,
                       env=dict(os.environ, **(env or {})))
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr[-3000:]}")
    m = re.findall(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", r.stderr)[-1]
    wall = int(m[0] or 0) * 3600 + int(m[1]) * 60 + float(m[2])
    rss = max(int(x) for x in re.findall(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)) / 1024
    cpu = [float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", r.stderr)]
    LAST_CPU[0] = sum(cpu[:-2]) if cmd[0] == "mpirun" else sum(cpu)  # the outer block: mpirun itself
    if cmd[0] == "mpirun" and len(cpu) != 2 * (int(cmd[2]) + 1):
        LAST_CPU[0] = float("nan")  # a rank's /usr/bin/time report did not come through mpirun
    return r.stdout, wall, rss


def propscore_round(a, data, d):
    mpi = ["mpirun", "-n", a.ranks, a.bin]
    model, scores = os.path.join(d, "m.h5"), os.path.join(d, "s.h5")
    l1 = (["--l1", a.l1] if a.l1 else []) + a.train_args.split()
    t_first = cpu_first = 0.0
    if a.adaptive:  # the first fit, then the second with its weights
        first = os.path.join(d, "m_first.h5")
        _, t_first, _ = timed(mpi + ["train", "--data", data, "--model", first, "--standardize", "scale",
                                     "--targets", TARGET, "--quiet"] + l1, MPI_ENV)
        cpu_first = LAST_CPU[0]
        l1 = ["--l1", a.adaptive, "--l1-weights", first] + a.train_args.split()
    _, t_train, rss = timed(mpi + ["train", "--data", data, "--model", model, "--standardize", "scale",
                                   "--targets", TARGET, "--quiet"] + l1, MPI_ENV)
    t_train, cpu_train = t_train + t_first, LAST_CPU[0] + cpu_first
    _, t_score, _ = timed(mpi + ["score", "--data", data, "--model", model, "--out", scores, "--quiet"], MPI_ENV)
    with h5py.File(scores) as s:
        p = s["scores"][TARGET][...]
    return {"fit_s": t_train, "fit_cpu_s": cpu_train, "peak_mib": rss, "score_rows_s": len(p) / t_score,
            "score_cpu_s": LAST_CPU[0], "p": p}


def model_logits(model, X):
    """A scale-standardized logreg model's logits of CSR rows X (numpy)."""
    with h5py.File(model) as m:
        w, b, s = m["weights"][:, 0], m["bias"][0], m["standardize/scale"][...]
    return X @ (w * s) + b


def select_l1(a, data, ids, y, values, first=None):
    """The value with the best AUC on the band 0.2 <= hash < 0.36 (models trained on hash >= 0.36);
    first: the band model of the first fit (--adaptive: the values are the second fit's, with its weights)."""
    from sklearn.metrics import roc_auc_score
    X, _, _ = read_csr(data)
    band = validation_mask(ids, 0.36) & ~validation_mask(ids)
    best = None
    for v in values.split(","):
        model = os.path.join(a.dir, f"sel_{v}.h5" if not first else f"sel_adaptive_{v}.h5")
        extra = ["--l1-weights", first] if first else []
        _, t, _ = timed(["mpirun", "-n", a.ranks, a.bin, "train", "--data", data, "--model", model, "--standardize",
                         "scale", "--targets", TARGET, "--quiet", "--holdout", "0.36", "--l1", v] + extra +
                        a.train_args.split(), MPI_ENV)
        auc = roc_auc_score(y[band], model_logits(model, X[band]))
        print(f"select --l1 {v}{' --l1-weights ' + first if first else ''}: band AUC {auc:.4f} ({band.sum()} rows; "
              f"fit {t:.0f} s, {LAST_CPU[0]:.0f} CPU s)", flush=True)
        if best is None or auc > best[1]:
            best = (v, auc)
    return best[0]


def oracles(data, ids, y, truth_auc):
    """scikit-learn logistic fits on the training rows: every column, and the planted support only."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    X, _, _ = read_csr(data)
    with h5py.File(data) as h:
        support = np.flatnonzero(h["truth"][TARGET]["coef"][...])
    va = validation_mask(ids)
    out = {}
    for name, cols in (("all columns", None), (f"planted support ({len(support)} columns)", support)):
        Xc = X if cols is None else X[:, cols]
        m = LogisticRegression(C=1e8 / X.shape[0], max_iter=2000, tol=1e-8).fit(Xc[~va], y[~va])
        out[name] = roc_auc_score(y[va], m.decision_function(Xc[va]))
        print(f"oracle scikit-learn logistic, {name}: AUC {out[name]:.4f} ({out[name] - truth_auc:+.4f})", flush=True)
    return out


def propscore_gbdt_round(a, data, d):
    """GBDT on CSR from the nonzeros (issue 30's csrtree branch): the lead adds this row after merging, as
    propscore_round with --model-type gbdt --trees 100 --num-leaves 31 (and --early-stopping 0). None: skipped."""
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1000000)
    ap.add_argument("--features", type=int, default=10000)
    ap.add_argument("--density", type=float, default=0.005)
    ap.add_argument("--informative", type=int, help="gen --informative K: the planted model weights K columns")
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--peers", default="lightgbm,xgboost")
    ap.add_argument("--dir", default="/tmp/check_csr_auc")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "propscore"))
    ap.add_argument("--json")
    ap.add_argument("--l1")
    ap.add_argument("--select-l1")
    ap.add_argument("--adaptive", help="the adaptive lasso's second --l1 value(s), chosen on the band")
    ap.add_argument("--oracles", action="store_true")
    ap.add_argument("--train-args", default="", help="more propscore train options (e.g. '--tol 1e-5')")
    ap.add_argument("--peer")
    ap.add_argument("--data")
    a = ap.parse_args()
    if a.peer:
        return peer(a.peer, a.data, a.threads)
    from sklearn.metrics import roc_auc_score
    os.makedirs(a.dir, exist_ok=True)
    kk = f"_k{a.informative}" if a.informative else ""
    data = os.path.join(a.dir, f"csr_{a.rows}x{a.features}_{a.density}{kk}.h5")
    if not os.path.exists(data):
        inf = ["--informative", a.informative] if a.informative else []
        _, t, _ = timed(["mpirun", "-n", a.ranks, a.bin, "gen", "--out", data, "--rows", a.rows, "--features",
                         a.features, "--density", a.density, "--targets", f"{TARGET}:0.1", "--quiet"] + inf, MPI_ENV)
        print(f"gen: {data} in {t:.1f} s", flush=True)
    with h5py.File(data) as h:
        ids, y, truth = h["customer_id"][...], h["labels"][TARGET][...], h["truth"][TARGET]["prob"][...]
        nnz = h["features_csr"]["indices"].shape[0]
    va = validation_mask(ids)
    best = roc_auc_score(y[va], truth[va])
    print(f"{a.rows} rows x {a.features} columns, {nnz} stored values (density {nnz / a.rows / a.features:.4f}); "
          f"validation rows {va.sum()}; planted truth AUC {best:.4f}", flush=True)
    orc = oracles(data, ids, y, best) if a.oracles else {}
    if a.select_l1:
        a.l1 = select_l1(a, data, ids, y, a.select_l1)
        print(f"chosen --l1 {a.l1}", flush=True)
    if a.adaptive:
        if not a.l1:
            sys.exit("--adaptive needs --l1 or --select-l1 (the first fit)")
        first = os.path.join(a.dir, f"sel_{a.l1}.h5")
        if "," in a.adaptive:
            if not a.select_l1:
                select_l1(a, data, ids, y, a.l1)  # the first fit's band model
            a.adaptive = select_l1(a, data, ids, y, a.adaptive, first)
        print(f"chosen adaptive --l1 {a.adaptive} (--l1-weights: the --l1 {a.l1} fit)", flush=True)
    runs = {"propscore logreg": [], "propscore gbdt": []}
    peers = [p for p in a.peers.split(",") if p]
    for p in peers:
        runs[p] = []
    loads = []
    for r in range(a.rounds):
        loads.append(os.getloadavg()[0])
        res = propscore_round(a, data, a.dir)
        res["auc"] = roc_auc_score(y[va], res.pop("p")[va])
        runs["propscore logreg"].append(res)
        g = propscore_gbdt_round(a, data, a.dir)
        if g is not None:
            runs["propscore gbdt"].append(g)
        for p in peers:
            out, wall, rss = timed([sys.executable, __file__, "--peer", p, "--data", data, "--threads", a.threads])
            res = json.loads(out.strip().splitlines()[-1])
            res["peak_mib"], res["process_cpu_s"] = rss, LAST_CPU[0]
            runs[p].append(res)
        print(f"round {r + 1}: load {loads[-1]:.1f}: " + "; ".join(
            f"{k} fit {v[-1]['fit_s']:.1f} s ({v[-1]['fit_cpu_s']:.0f} CPU s) AUC {v[-1]['auc']:.4f}" for k, v in runs.items() if v), flush=True)
    table = {"rows": a.rows, "features": a.features, "density": a.density, "informative": a.informative, "nnz": int(nnz), "ranks": a.ranks,
             "threads": a.threads, "truth_auc": best, "loads": loads, "rounds": a.rounds, "l1": a.l1,
             "adaptive_l1": a.adaptive,
             "train_args": a.train_args,
             "oracles": orc,
             "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "results": {}}
    print(f"\n| model | fit s | fit CPU s | AUC | AUC - truth | peak MiB | score rows/s |\n|---|---|---|---|---|---|---|")
    for k, v in runs.items():
        if not v:
            continue
        med = {m: statistics.median(x[m] for x in v) for m in ("fit_s", "fit_cpu_s", "auc", "peak_mib", "score_rows_s")}
        table["results"][k] = dict(med, all=v)
        print(f"| {k} | {med['fit_s']:.1f} | {med['fit_cpu_s']:.1f} | {med['auc']:.4f} | {med['auc'] - best:+.4f} | {med['peak_mib']:.0f} | "
              f"{med['score_rows_s']:.0f} |")
    ok = table["results"]["propscore logreg"]["auc"] >= best - 0.002
    print(f"\nacceptance (logreg AUC >= truth - 0.002): {'met' if ok else 'NOT met'}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(table, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
