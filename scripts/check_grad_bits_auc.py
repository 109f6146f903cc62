#!/usr/bin/env python3
r"""check_grad_bits_auc.py: issue 26's AUC acceptance of quantized gradients.
Validation AUC of `propscore train --model-type gbdt --grad-bits B` for each
B (exact, 16, 8, 4, auto) beside LightGBM with the same trees / leaves / bins
/ learning rate / min-data (plain, and with use_quantized_grad at the
num_grad_quant_bins given), on the same holdout rows (propscore's id-hash
split: tests/cli/pstest.py validation_mask). Prints one table row per
(data, head, run): AUC, its difference to exact and to plain LightGBM, and
the seconds of the run (propscore: the whole train command at P = --np;
LightGBM: its fit with --np threads). Writes OUT/check_grad_bits_auc.json.

  scripts/check_grad_bits_auc.py --sizes 1000000x64 --real fertility --out /tmp/gbauc
  scripts/check_grad_bits_auc.py --sizes 20000x16 --bits exact,8 --lgb-quant 254 --out /tmp/t   # seconds

Data: `propscore gen --rows R --features F` (seed 42; heads churn and
purchase_3m), made once under OUT; and --real tables that a Debian package
ships (nothing is downloaded):
  fertility  Debian r-cran-aer, AER/data/Fertility.rda (1980 US census,
             254,654 mothers of two or more children; Angrist & Evans 1998):
             label morekids == "yes" (a third child); features age, work
             (weeks worked in 1979) as numbers, gender1, gender2 (== "male"),
             afam, hispanic, other (== "yes") as 0/1. Read with the PyPI
             package rdata from --r-lib (default: the installed R library, or
             unpack without R: apt-get download r-cran-aer && dpkg -x
             r-cran-aer_*.deb DIR, then --r-lib DIR/usr/lib/R/site-library).
LightGBM's num_grad_quant_bins Q quantizes g to [-Q/2, Q/2] and h to
[0, Q]: Q = 2 (2^(B-1) - 1) matches propscore's B-bit g (254 for 8 bits,
14 for 4); quant_train_renew_leaf=True as propscore refits its leaves.
Exit 0 when every run ran (whatever the AUCs), 1 on an error."""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "cli"))
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_rmaps_base_oversubscribe": "1"}
SETTINGS = "100 trees, 31 leaves, learning rate 0.1, 255 bins, min 20 rows a leaf, no subsampling, lambda 0"


def fail(msg):
    sys.stderr.write(f"check_grad_bits_auc: {msg}\n")
    sys.exit(1)


def sh(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **MPI_ENV}, **kw)
    if p.returncode:
        fail(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()[-2000:]}")
    return p


def gen_data(a, size):
    rows, feats = size.split("x")
    path = os.path.join(a.out, f"d_{size}.h5")
    if not os.path.exists(path):
        sh(["mpirun", "-n", str(a.np), a.propscore, "gen", "--out", path, "--rows", rows, "--features", feats,
            "--quiet"])
    return path, f"propscore gen {rows} x {feats} (seed 42)"


def fertility(a):
    """AER's Fertility table as a propscore feature file (label /labels/morekids)."""
    import numpy as np
    import pandas as pd
    import warnings
    path = os.path.join(a.out, "fertility.h5")
    if os.path.exists(path):
        return path, "Debian r-cran-aer Fertility (254,654 rows x 7)"
    cands = [a.r_lib] if a.r_lib else ["/usr/lib/R/site-library", "/usr/local/lib/R/site-library"]
    rda = next((os.path.join(d, "AER", "data", "Fertility.rda") for d in cands
                if os.path.exists(os.path.join(d, "AER", "data", "Fertility.rda"))), None)
    if not rda:
        fail("AER/data/Fertility.rda not found: apt-get install r-cran-aer, or apt-get download r-cran-aer && "
             "dpkg -x r-cran-aer_*.deb DIR, then --r-lib DIR/usr/lib/R/site-library")
    import rdata
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = rdata.read_rda(rda)["Fertility"]
    t = pd.DataFrame({"customer_id": np.arange(1, len(df) + 1, dtype=np.int64)})
    for c, pos in (("gender1", "male"), ("gender2", "male"), ("afam", "yes"), ("hispanic", "yes"),
                   ("other", "yes")):
        t[c] = (df[c].astype(str) == pos).to_numpy().astype(np.float32)
    for c in ("age", "work"):
        t[c] = df[c].astype("float64").to_numpy()
    t["morekids"] = (df["morekids"].astype(str) == "yes").to_numpy().astype(np.uint8)
    src = os.path.join(a.out, "fertility.parquet")
    t.to_parquet(src, index=False)
    sh([sys.executable, os.path.join(HERE, "to_hdf5.py"), src, "--out", path, "--id", "customer_id",
        "--label", "morekids=morekids"])
    return path, f"Debian r-cran-aer Fertility ({len(t):,} rows x 7; {rda})"


def run_propscore(a, data, bits):
    model = os.path.join(a.out, "m.h5")
    t0 = time.time()
    sh(["mpirun", "-n", str(a.np), a.propscore, "train", "--data", data, "--model", model, "--model-type", "gbdt",
        "--early-stopping", "0", "--grad-bits", bits, "--quiet"])
    dt = time.time() - t0
    with open(model + ".manifest.json") as f:
        man = json.load(f)
    used = man.get("parameters", {}).get("grad_bits", "exact")
    aucs = {h: m["valid_auc"] for h, m in man["metrics"].items() if isinstance(m, dict) and "valid_auc" in m}
    return aucs, dt, used


def run_lgb(a, data, quant_bins):
    import h5py
    import lightgbm as lgb
    from sklearn.metrics import roc_auc_score
    from pstest import validation_mask
    with h5py.File(data) as h:
        X, ids = h["features"][...], h["customer_id"][...]
        labels = {t: h["labels"][t][...] for t in sorted(h["labels"])}
    va = validation_mask(ids)
    aucs, fit = {}, 0.0
    for t, y in labels.items():
        extra = {} if not quant_bins else {"use_quantized_grad": True, "num_grad_quant_bins": quant_bins,
                                           "quant_train_renew_leaf": True, "stochastic_rounding": True}
        m = lgb.LGBMClassifier(n_estimators=100, num_leaves=31, learning_rate=0.1, max_bin=255, min_child_samples=20,
                               min_child_weight=1e-3, reg_lambda=0.0, verbose=-1, n_jobs=a.np, **extra)
        t0 = time.time()
        m.fit(X[~va], y[~va])
        fit += time.time() - t0
        aucs[t] = roc_auc_score(y[va], m.predict_proba(X[va])[:, 1])
    return aucs, fit


def check(a, name, data):
    rows = []
    for b in a.bits.split(","):
        aucs, dt, used = run_propscore(a, data, b)
        rows.append({"run": f"propscore --grad-bits {b}" + (f" (= {used})" if b == "auto" else ""),
                     "auc": aucs, "seconds": round(dt, 2), "load": os.getloadavg()[0]})
        print(f"# {name}: {rows[-1]['run']} {dt:.1f} s, load {rows[-1]['load']:.1f}", file=sys.stderr, flush=True)
    for q in [0] + [int(x) for x in a.lgb_quant.split(",") if x]:
        aucs, dt = run_lgb(a, data, q)
        rows.append({"run": "LightGBM" + (f" quantized, {q} bins" if q else ""), "auc": aucs,
                     "seconds": round(dt, 2), "load": os.getloadavg()[0]})
        print(f"# {name}: {rows[-1]['run']} {dt:.1f} s", file=sys.stderr, flush=True)
    return rows


def table(results):
    out = ["| data | head | run | valid AUC | - exact | - LightGBM | s (load) |", "|---|---|---|---|---|---|---|"]
    for r in results:
        exact = next((x["auc"] for x in r["rows"] if x["run"].startswith("propscore --grad-bits exact")), {})
        lgb = next((x["auc"] for x in r["rows"] if x["run"] == "LightGBM"), {})
        for h in sorted(r["rows"][0]["auc"]):
            for x in r["rows"]:
                v = x["auc"][h]
                d = [f"{v - ref[h]:+.5f}" if h in ref else "" for ref in (exact, lgb)]
                out.append(f"| {r['data']} | {h} | {x['run']} | {v:.5f} | {d[0]} | {d[1]} | "
                           f"{x['seconds']:.1f} ({x['load']:.1f}) |")
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--propscore", default=os.path.join(HERE, "..", "build", "propscore"))
    p.add_argument("--out", default="/tmp/propscore-grad-bits-auc")
    p.add_argument("--np", type=int, default=2, help="ranks of propscore, threads of LightGBM")
    p.add_argument("--sizes", default="1000000x64", help="generated ROWSxFEATURES, comma-separated ('' for none)")
    p.add_argument("--real", default="fertility", help="real tables ('' for none; known: fertility)")
    p.add_argument("--r-lib", default="", help="R library holding AER (see above)")
    p.add_argument("--bits", default="exact,16,8,4,auto")
    p.add_argument("--lgb-quant", default="254,14", help="LightGBM num_grad_quant_bins to run ('' for none)")
    p.add_argument("--json", default="check_grad_bits_auc.json", help="the results' file under --out")
    a = p.parse_args()
    a.propscore = os.path.abspath(a.propscore)
    os.makedirs(a.out, exist_ok=True)
    print(f"# check_grad_bits_auc {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())} on {os.cpu_count()} cores, "
          f"{platform.processor() or platform.machine()}; {SETTINGS}; P = threads = {a.np}", flush=True)
    results = []
    datas = [gen_data(a, s) for s in a.sizes.split(",") if s]
    for t in (x for x in a.real.split(",") if x):
        if t != "fertility":
            fail(f"--real: unknown table '{t}' (known: fertility)")
        datas.append(fertility(a))
    for path, name in datas:
        results.append({"data": name, "file": path, "rows": check(a, name, path)})
        with open(os.path.join(a.out, a.json), "w") as f:
            json.dump(results, f, indent=1)
    print(table(results))


if __name__ == "__main__":
    main()
