#!/usr/bin/env python3
r"""bench_quality.py: model quality of `propscore train --model-type auto` on
real public tables, beside scikit-learn, LightGBM and XGBoost at their
defaults, by k-fold cross-validation (issue 27's acceptance).

  scripts/bench_quality.py --propscore build/propscore --out /tmp/bq
  scripts/bench_quality.py --tables breast_cancer --folds 2 --out /tmp/bq   # tiny, seconds

Tables (each ships inside a Debian or PyPI package; nothing is downloaded):
  attrition     Debian r-cran-modeldata, data/Rdata.rdb object `attrition`
                (IBM HR attrition, 1,470 rows): label Attrition == "Yes"
  mlc_churn     the same file, `mlc_churn` (telecom churn, 5,000 rows): churn == "yes"
  wa_churn      the same file, `wa_churn` (IBM Watson telco churn, 7,043 rows): churn == "Yes"
  credit_data   the same file, `credit_data` (credit scoring, 4,454 rows): Status == "bad"
  breast_cancer PyPI scikit-learn, sklearn/datasets/data/breast_cancer.csv
                (569 rows; the smoke test's table): label malignant (target == 0)
The R package's lazy-load database is read with the PyPI package `rdata`
(pip install rdata). Where r-cran-modeldata is not installed (it pulls in R),
unpack it without R: `apt-get download r-cran-modeldata && dpkg -x
r-cran-modeldata_*.deb DIR` and pass --r-lib DIR/usr/lib/R/site-library.

Each table becomes propscore's input (datasets/SCHEMA.md) through
scripts/to_hdf5.py: customer_id = row number + 1, the label /labels/y,
unordered categories one-hot ("col=value", missing -> all zeros), ordered
factors their level number (1..L, missing NaN), numbers as they are (NaN
missing). Every model sees these same columns. Hook for categorical columns
in the file format: --import-args is appended to to_hdf5.py's command line
for propscore's file only (e.g. the option that keeps categories as codes);
the peers keep the one-hot file.

Folds: fold(id) = floor(u * k), u = ps_id_unit(id, salt) of host/core/rng.h
(splitmix64 of the id, xor a salt, splitmix64 again, 53 bits) with a salt of
its own (not train's --split-salt), the same folds for every model. Per fold
every model is fitted on the k-1 other folds and scores the fold; propscore's
runs are `train` on a file of the training folds (its own validation split
inside, as a user would run it) and `score` on a file of the test fold.

Metrics per fold on the test fold, then their mean over folds: ROC-AUC,
log-loss (probabilities clipped to [DBL_EPSILON, 1 - DBL_EPSILON] as eval
does) and ECE as eval's `ece` (host/stats/calibrate.c calib_ece and
metrics.c: 10 equal-width bins, bin = floor(10 p) clipped to 0..9, ECE = sum
over bins |sum y - sum p| / n). The goal per table: auto's AUC >= the best
peer's, its log-loss and ECE <= the best peer's (the peers' best of each
metric, each taken separately).

Writes OUT/bench_quality.json and OUT/bench_quality.md (the tables), prints
the tables; exit status 0 when every model ran (whether or not the goal is
reached), 1 on an error, 2 on a bad command line.
"""
import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FOLD_SALT = 0xB3C27F0D  # the folds' own salt: independent of train's --split-salt (24301)
DBL_EPS = 2.220446049250313e-16
ECE_BINS = 10

# name: (package, file, object, label column, positive value, what the rows are)
MODELDATA = {
    "attrition": ("Attrition", "Yes", "IBM HR employee attrition"),
    "mlc_churn": ("churn", "yes", "telecom customer churn (MLC++)"),
    "wa_churn": ("churn", "Yes", "IBM Watson telco customer churn"),
    "credit_data": ("Status", "bad", "credit scoring (bad payer)"),
}
DEFAULT_TABLES = "attrition,mlc_churn,wa_churn,credit_data"

PS_MODELS = {  # name -> train options beyond --data/--model
    "ps-auto": ["--model-type", "auto"],
    "ps-auto-isotonic": ["--model-type", "auto", "--calibrate", "isotonic"],
    "ps-auto-platt": ["--model-type", "auto", "--calibrate", "platt"],
    "ps-logreg": ["--model-type", "logreg"],
    "ps-gbdt": ["--model-type", "gbdt"],
}
PEERS = ["sk-logreg", "sk-hgb", "lightgbm", "xgboost"]
ALL_MODELS = list(PS_MODELS) + PEERS
AUTO = "ps-auto"


def fail(msg, code=1):
    print(f"bench_quality: error: {msg}", file=sys.stderr)
    sys.exit(code)


def log(msg):
    print(f"bench_quality: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- tables

def find_rlib(given):
    cands = [given] if given else [os.environ.get("PROPSCORE_R_LIB", ""), "/usr/lib/R/site-library",
                                   "/usr/local/lib/R/site-library", "/usr/lib/R/library"]
    for d in cands:
        if d and os.path.exists(os.path.join(d, "modeldata", "data", "Rdata.rdx")):
            return d
    fail("r-cran-modeldata not found" + (f" under --r-lib {given}" if given else "") +
         ": apt-get install r-cran-modeldata, or without R: apt-get download r-cran-modeldata && "
         "dpkg -x r-cran-modeldata_*.deb DIR, then --r-lib DIR/usr/lib/R/site-library")


def read_rdb(rlib, obj):
    """One object of an installed R package's lazy-load data base (data/Rdata.rdx
    indexes data/Rdata.rdb: per object, offset and length of a 4-byte length, a
    1-byte compression type and the compressed R serialization)."""
    import lzma
    import zlib
    import bz2
    try:
        import rdata
    except ImportError:
        fail("the modeldata tables need the PyPI package rdata (pip install rdata)")
    import warnings
    base = os.path.join(rlib, "modeldata", "data", "Rdata")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        index = rdata.conversion.convert(rdata.parser.parse_file(base + ".rdx"))
        if obj not in index["variables"]:
            fail(f"{base}.rdx: no object '{obj}'")
        off, length = (int(v) for v in index["variables"][obj])
        with open(base + ".rdb", "rb") as f:
            f.seek(off)
            blob = f.read(length)
        kind, body = blob[4:5], blob[5:]
        if kind == b"Z":
            raw = lzma.decompress(body, format=lzma.FORMAT_RAW,
                                  filters=[{"id": lzma.FILTER_LZMA2, "dict_size": 1 << 26}])
        elif kind == b"2":
            raw = bz2.decompress(body)
        elif kind == b"0":
            raw = body
        else:  # type 1: 4-byte length, then zlib
            raw = zlib.decompress(blob[4:])
        return rdata.conversion.convert(rdata.parser.parse_data(raw, extension=None))


def load_table(name, rlib_arg):
    """-> (features DataFrame, 0/1 labels, description dict)."""
    import numpy as np
    import pandas as pd
    if name == "breast_cancer":
        from sklearn.datasets import load_breast_cancer
        b = load_breast_cancer(as_frame=True)
        desc = {"package": "PyPI scikit-learn", "file": "sklearn/datasets/data/breast_cancer.csv",
                "label": "malignant (target == 0)", "rows_are": "breast tumours (Wisconsin diagnostic)"}
        return b.data, (b.target.to_numpy() == 0).astype(np.uint8), desc
    if name not in MODELDATA:
        fail(f"--tables: unknown table '{name}' (known: {', '.join(list(MODELDATA) + ['breast_cancer'])})", 2)
    col, pos, what = MODELDATA[name]
    rlib = find_rlib(rlib_arg)
    df = read_rdb(rlib, name)
    if not isinstance(df, pd.DataFrame) or col not in df.columns:
        fail(f"{rlib}/modeldata: '{name}' is not a data frame with column '{col}'")
    lab = df[col]
    keep = lab.notna().to_numpy()
    df = df[keep].reset_index(drop=True)
    y = (df[col].astype(str) == pos).to_numpy().astype(np.uint8)
    desc = {"package": "Debian r-cran-modeldata",
            "file": f"{rlib}/modeldata/data/Rdata.rdb (object {name})",
            "label": f"{col} == \"{pos}\"" + (f" ({int((~keep).sum())} rows without it left out)" if (~keep).any()
                                              else ""),
            "rows_are": what}
    return df.drop(columns=[col]), y, desc


def ordinal_codes(df):
    """Ordered factors -> their level number 1..L (NaN missing); the rest as is."""
    import numpy as np
    import pandas as pd
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if isinstance(s.dtype, pd.CategoricalDtype) and s.dtype.ordered:
            out[c] = np.where(s.cat.codes.to_numpy() < 0, np.nan, s.cat.codes.to_numpy() + 1.0)
        elif isinstance(s.dtype, pd.CategoricalDtype):
            out[c] = s.astype(object).where(s.notna(), None)  # text: to_hdf5.py one-hots it
        elif pd.api.types.is_extension_array_dtype(s.dtype) and pd.api.types.is_numeric_dtype(s.dtype):
            out[c] = s.astype("float64")  # nullable Int32 -> float with NaN
    return out


def to_hdf5(df, y, work, name, import_args):
    """The table as propscore input through scripts/to_hdf5.py; returns the
    paths of the peers' file (one-hot) and propscore's (--import-args)."""
    import numpy as np
    import pandas as pd
    t = ordinal_codes(df)
    cats = [c for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype) and not df[c].dtype.ordered]
    t.insert(0, "customer_id", np.arange(1, len(t) + 1, dtype=np.int64))
    t["__label__"] = y
    src = os.path.join(work, f"{name}.parquet")
    t.to_parquet(src, index=False)
    paths = {}
    for who, extra in (("peers", []), ("propscore", shlex.split(import_args))):
        if who == "propscore" and not extra:
            paths[who] = paths["peers"]
            continue
        out = os.path.join(work, f"{name}.{who}.h5")
        cmd = [sys.executable, os.path.join(HERE, "to_hdf5.py"), src, "--out", out, "--id", "customer_id",
               "--label", "y=__label__"] + (["--categorical", ",".join(cats)] if cats else []) + extra
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            fail(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()}")
        paths[who] = out
    return paths


def read_h5(path):
    import h5py
    import numpy as np
    with h5py.File(path, "r") as f:
        return {"X": f["features"][...].astype(np.float32), "ids": f["customer_id"][...],
                "y": f["labels/y"][...].astype(np.uint8),
                "names": [n.decode() if isinstance(n, bytes) else str(n) for n in f["feature_names"][...]]}


def subset_h5(src, rows, out):
    """SRC's rows (a boolean mask) as a new feature file, every dataset of N
    rows cut, everything else (names, attributes, other groups) copied."""
    import h5py
    with h5py.File(src, "r") as f, h5py.File(out, "w") as g:
        n = f["customer_id"].shape[0]
        for k, v in f.attrs.items():
            g.attrs[k] = v

        def copy(name, obj):
            if isinstance(obj, h5py.Group):
                grp = g.require_group(name)
                for k, v in obj.attrs.items():
                    grp.attrs[k] = v
            elif obj.shape and obj.shape[0] == n and name != "feature_names":
                d = g.create_dataset(name, data=obj[...][rows])
                for k, v in obj.attrs.items():
                    d.attrs[k] = v
            else:
                f.copy(obj, g, name=name)
        f.visititems(copy)


# ---------------------------------------------------------------- folds and metrics

def fold_of(ids, k):
    """floor(k * ps_id_unit(id, FOLD_SALT)) (host/core/rng.h)."""
    import numpy as np

    def mix(z):
        with np.errstate(over="ignore"):
            z = z + np.uint64(0x9E3779B97F4A7C15)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            return z ^ (z >> np.uint64(31))
    u = (mix(mix(ids.astype(np.int64).view(np.uint64)) ^ np.uint64(FOLD_SALT)) >> np.uint64(11)).astype(np.float64)
    return np.minimum((u * 2.0 ** -53 * k).astype(np.int64), k - 1)


def ece(p, y, bins=ECE_BINS):
    """eval's expected calibration error (host/stats/calibrate.c calib_ece)."""
    import numpy as np
    q = np.clip((p * bins).astype(np.int64), 0, bins - 1)
    sp = np.bincount(q, weights=p, minlength=bins)
    sy = np.bincount(q, weights=y.astype(np.float64), minlength=bins)
    return float(np.abs(sy - sp).sum() / len(p))


def metrics(p, y):
    import numpy as np
    from sklearn.metrics import roc_auc_score
    p = np.asarray(p, dtype=np.float64)
    c = np.clip(p, DBL_EPS, 1 - DBL_EPS)
    ll = -np.mean(np.where(y == 1, np.log(c), np.log1p(-c)))
    return {"auc": float(roc_auc_score(y, p)), "logloss": float(ll), "ece": ece(p, y)}


# ---------------------------------------------------------------- models

def run_propscore(a, opts, train, test, work, tag):
    """train OPTS on TRAIN, score TEST -> (probabilities, what was kept)."""
    import h5py
    model, scores = os.path.join(work, f"{tag}.model.h5"), os.path.join(work, f"{tag}.scores.h5")
    pre = shlex.split(a.launcher)
    for cmd in ([*pre, a.propscore, "train", "--data", train, "--model", model, *opts, "--quiet"],
                [*pre, a.propscore, "score", "--data", test, "--model", model, "--out", scores, "--quiet"]):
        p = subprocess.run(cmd, capture_output=True, text=True, errors="backslashreplace")
        if p.returncode != 0:
            fail(f"{' '.join(cmd)}: exit {p.returncode}: {(p.stderr.strip() or p.stdout.strip())[-2000:]}")
        if cmd[len(pre) + 1] == "train":
            kept = [ln.split("train: ", 1)[-1] for ln in p.stdout.splitlines() if "kept" in ln or "chose" in ln]
    with h5py.File(model, "r") as m:
        at = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in m.attrs.items()}
        info = {"model_type": str(at.get("model_type", "logreg")), "calibration": str(at.get("calibration", "none"))}
        if "metrics/y" in m:
            mt = m["metrics/y"].attrs
            for k in ("trees", "best_iteration", "iterations"):
                if k in mt:
                    info[k] = int(mt[k])
        if "blend/logreg_weight" in m:  # a blend of both kinds (cross-validated auto)
            info["logreg_weight"] = float(m["blend/logreg_weight"][0])
        for k in ("cv_folds", "candidate", "blend"):  # attributes a cross-validated auto may add
            if k in at:
                info[k] = at[k] if isinstance(at[k], (str, int, float)) else str(at[k])
    if kept:
        info["log"] = kept[-1]
    with h5py.File(scores, "r") as s:
        p = s["scores/y"][...]
    for f in (model, scores, model + ".manifest.json", scores + ".manifest.json"):
        if os.path.exists(f) and not a.keep:
            os.unlink(f)
    return p, info


def make_peer(name, seed, threads):
    if name == "sk-logreg":  # LogisticRegression has no NaN: mean imputation, as propscore's logreg does
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        return make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=1000))
    if name == "sk-hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier
        return HistGradientBoostingClassifier(random_state=seed)
    if name == "lightgbm":
        import lightgbm
        return lightgbm.LGBMClassifier(random_state=seed, verbose=-1, n_jobs=threads)
    if name == "xgboost":
        import xgboost
        return xgboost.XGBClassifier(random_state=seed, n_jobs=threads)
    raise ValueError(name)


def run_peer(name, X, y, tr, te, a):
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=a.threads):  # OpenMP (HistGradientBoosting) and BLAS
        m = make_peer(name, a.seed, a.threads)
        m.fit(X[tr], y[tr])
        return m.predict_proba(X[te])[:, 1], {}


def run_table(a, name, work):
    """Every model on every fold of one table -> the table's result dict."""
    import numpy as np
    df, y_all, desc = load_table(name, a.r_lib)
    paths = to_hdf5(df, y_all, work, name, a.import_args)
    d = read_h5(paths["peers"])
    X, y, ids = d["X"], d["y"], d["ids"]
    fold = fold_of(ids, a.folds)
    res = {**desc, "rows": int(len(y)), "features": len(d["names"]), "positive_rate": float(y.mean()),
           "fold_rows": np.bincount(fold, minlength=a.folds).tolist(), "models": {}}
    log(f"{name}: {len(y)} rows x {len(d['names'])} features, positive rate {y.mean():.4f}, {a.folds} folds")
    per = {m: [] for m in a.models}
    for k in range(a.folds):
        te = fold == k
        tr = ~te
        if a.models_ps:
            ftr, fte = os.path.join(work, f"{name}.f{k}.train.h5"), os.path.join(work, f"{name}.f{k}.test.h5")
            subset_h5(paths["propscore"], tr, ftr)
            subset_h5(paths["propscore"], te, fte)
        for m in a.models:
            t0 = time.time()
            if m in a.ps_models:
                opts = [o.replace("{inv_n}", f"{1.0 / tr.sum():.17g}") for o in a.ps_models[m] + shlex.split(a.train_args)]
                p, info = run_propscore(a, opts, ftr, fte, work, f"{name}.f{k}.{m}")
            else:
                p, info = run_peer(m, X, y, tr, te, a)
            r = {"fold": k, **metrics(p, y[te]), "seconds": round(time.time() - t0, 3), **info}
            per[m].append(r)
        if a.models_ps and not a.keep:
            os.unlink(ftr)
            os.unlink(fte)
        log(f"{name}: fold {k + 1}/{a.folds} done")
    for m, rs in per.items():
        res["models"][m] = {"auc": float(np.mean([r["auc"] for r in rs])),
                            "logloss": float(np.mean([r["logloss"] for r in rs])),
                            "ece": float(np.mean([r["ece"] for r in rs])),
                            "auc_sd": float(np.std([r["auc"] for r in rs], ddof=1)) if len(rs) > 1 else 0.0,
                            "folds": rs}
        picks = [r.get("model_type") for r in rs if "model_type" in r]
        if picks:
            res["models"][m]["picked"] = picks
    res["goal"] = goal(res["models"])
    return res


def goal(models):
    """auto's AUC >= every peer's, its log-loss and ECE <= every peer's."""
    peers = [m for m in PEERS if m in models]
    if AUTO not in models or not peers:
        return None
    best = {"auc": max(models[m]["auc"] for m in peers), "logloss": min(models[m]["logloss"] for m in peers),
            "ece": min(models[m]["ece"] for m in peers)}
    au = models[AUTO]
    ok = {"auc": au["auc"] >= best["auc"], "logloss": au["logloss"] <= best["logloss"], "ece": au["ece"] <= best["ece"]}
    return {"best_peer": best, "auto": {k: au[k] for k in best}, "met": ok, "reached": all(ok.values()),
            "paired": paired(models, peers)}


def paired(models, peers):
    """auto minus the metric's best peer, fold by fold: mean and standard error
    (how much of a gap the folds can tell from noise)."""
    import numpy as np
    out = {}
    for k, pick in (("auc", max), ("logloss", min), ("ece", min)):
        b = pick(peers, key=lambda m: models[m][k])
        d = np.array([x[k] - y[k] for x, y in zip(models[AUTO]["folds"], models[b]["folds"])])
        se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else 0.0
        out[k] = {"peer": b, "mean": float(d.mean()), "se": se}
    return out


# ---------------------------------------------------------------- report

def markdown(result):
    lines = []
    for name, t in result["tables"].items():
        lines += [f"### {name}: {t['rows']} rows x {t['features']} features, positive rate {t['positive_rate']:.3f}",
                  "", f"{t['package']}, {t['file']}; label {t['label']}.", "",
                  "| model | AUC | (sd) | log-loss | ECE | kept per fold |", "|---|---|---|---|---|---|"]
        best = t["goal"]["best_peer"] if t.get("goal") else None
        for m, r in t["models"].items():
            mark = ""
            if best and m == AUTO:
                mark = " " + "".join("✓" if t["goal"]["met"][k] else "✗" for k in ("auc", "logloss", "ece"))
            picks = ",".join(pick_label(f) for f in r["folds"]) if "picked" in r else ""
            lines.append(f"| {m}{mark} | {r['auc']:.4f} | {r['auc_sd']:.4f} | {r['logloss']:.4f} | {r['ece']:.4f} | "
                         f"{picks} |")
        if best:
            g = t["goal"]
            lines += ["", f"best peer: AUC {best['auc']:.4f}, log-loss {best['logloss']:.4f}, ECE {best['ece']:.4f}; "
                          f"goal {'reached' if g['reached'] else 'not reached'} "
                          f"(AUC {'ok' if g['met']['auc'] else 'behind by %.4f' % (best['auc'] - g['auto']['auc'])}, "
                          f"log-loss {'ok' if g['met']['logloss'] else 'over by %.4f' % (g['auto']['logloss'] - best['logloss'])}, "
                          f"ECE {'ok' if g['met']['ece'] else 'over by %.4f' % (g['auto']['ece'] - best['ece'])})",
                      "", "auto minus that peer fold by fold (mean ± standard error): " +
                      "; ".join(f"{k} {v['mean']:+.4f} ± {v['se']:.4f} ({v['peer']})" for k, v in g["paired"].items())]
        lines.append("")
    return "\n".join(lines)


def pick_label(f):
    s = f.get("model_type", "?")
    if "trees" in f and s == "gbdt":
        s += f"({f.get('best_iteration', f['trees'])})"
    if "logreg_weight" in f:
        s += f"(w={f['logreg_weight']:.2f})"
    return s


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--propscore", default=os.path.join(HERE, "..", "build", "propscore"), metavar="BIN",
                    help="the propscore binary (default build/propscore)")
    ap.add_argument("--tables", default=DEFAULT_TABLES, help=f"comma-separated (default {DEFAULT_TABLES}; "
                    "also breast_cancer)")
    ap.add_argument("--folds", type=int, default=5, help="k of the k-fold cross-validation (default 5)")
    ap.add_argument("--out", default="bench_quality_out", help="folder of the results and work files")
    ap.add_argument("--models", default=",".join(ALL_MODELS), help=f"comma-separated (default all: "
                    f"{','.join(ALL_MODELS)})")
    ap.add_argument("--r-lib", default="", help="R library folder holding modeldata/ (default: $PROPSCORE_R_LIB, "
                    "/usr/lib/R/site-library, ...)")
    ap.add_argument("--import-args", default="", help="extra scripts/to_hdf5.py options for propscore's file "
                    "(the peers keep the one-hot file)")
    ap.add_argument("--train-args", default="", help="extra propscore train options for every propscore model")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=OPTS",
                    help="one more propscore model: train OPTS (e.g. ps-gbdt-all='--model-type gbdt --holdout 0'); "
                    "{inv_n} in OPTS becomes 1/(training rows of the fold): --l2 {inv_n} is scikit-learn's C = 1")
    ap.add_argument("--launcher", default="", help="prefix of every propscore command, e.g. 'mpirun -n 2'")
    ap.add_argument("--seed", type=int, default=0, help="the peers' random_state (default 0)")
    ap.add_argument("--threads", type=int, default=1, help="the peers' threads (default 1: the scores do not "
                    "depend on the machine's load)")
    ap.add_argument("--keep", action="store_true", help="keep the fold files, models and scores")
    a = ap.parse_args(argv)
    if not 2 <= a.folds <= 100:
        ap.error("--folds must be 2..100")
    a.tables = [t for t in a.tables.split(",") if t]
    a.ps_models = dict(PS_MODELS)
    for v in a.variant:
        name, eq, opts = v.partition("=")
        if not eq or not name or name in a.ps_models or name in PEERS:
            ap.error(f"--variant {v}: expected a new NAME=OPTS")
        a.ps_models[name] = shlex.split(opts)
    a.models = [m for m in a.models.split(",") if m] + [v.partition("=")[0] for v in a.variant]
    for m in a.models:
        if m not in a.ps_models and m not in PEERS:
            ap.error(f"--models: unknown model '{m}' (known: {', '.join(ALL_MODELS)})")
    a.models_ps = [m for m in a.models if m in a.ps_models]
    a.propscore = os.path.abspath(a.propscore)
    if a.models_ps and not os.access(a.propscore, os.X_OK):
        ap.error(f"--propscore {a.propscore}: not an executable")
    return a


def main(argv=None):
    a = parse_args(argv)
    work = os.path.join(a.out, "work")
    os.makedirs(work, exist_ok=True)
    ver = ""
    if a.models_ps:
        p = subprocess.run([a.propscore, "--version"], capture_output=True, text=True)
        ver = (p.stdout or p.stderr).strip().splitlines()[0] if p.returncode == 0 else ""
    result = {"command": " ".join(shlex.quote(x) for x in [os.path.relpath(__file__)] + (argv or sys.argv[1:])),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine(),
              "propscore": a.propscore, "propscore_version": ver, "folds": a.folds, "fold_salt": FOLD_SALT,
              "peer_versions": peer_versions(a.models), "tables": {}}
    t0 = time.time()
    for name in a.tables:
        result["tables"][name] = run_table(a, name, work)
    result["seconds"] = round(time.time() - t0, 1)
    reached = [t["goal"]["reached"] for t in result["tables"].values() if t.get("goal")]
    result["goal_reached_on_every_table"] = bool(reached) and all(reached)
    with open(os.path.join(a.out, "bench_quality.json"), "w") as f:
        json.dump(result, f, indent=1)
    md = markdown(result)
    with open(os.path.join(a.out, "bench_quality.md"), "w") as f:
        f.write(md + "\n")
    print(md)
    verdict = "not measured (needs ps-auto and a peer)" if not reached else \
        "reached" if result["goal_reached_on_every_table"] else f"not reached ({sum(reached)} of {len(reached)} tables)"
    print(f"goal (auto >= best peer's AUC, <= its log-loss and ECE) on every table: {verdict}; {result['seconds']} s")
    return 0


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    return f"{platform.node()}: {os.cpu_count()} cores {cpu}, {platform.system()} {platform.release()}"


def peer_versions(models):
    import importlib
    out = {}
    for mod in ("sklearn", "lightgbm", "xgboost", "numpy"):
        if mod == "lightgbm" and "lightgbm" not in models or mod == "xgboost" and "xgboost" not in models:
            continue
        try:
            out[mod] = importlib.import_module(mod).__version__
        except ImportError:
            fail(f"the peer package '{mod}' is not installed (scripts/install-deps.sh installs it)")
    return out


if __name__ == "__main__":
    sys.exit(main())
