#!/usr/bin/env python3
"""report.py: the HTML report of an eval run, for people: OUT/index.html
with its charts as PNG files beside it (matplotlib, Agg), readable with no
JavaScript and no network, and OUT/report.json with every chart's data
points and the header's numbers (what tests check: the data behind the
pictures, not the pixels).

`propscore eval ... --report DIR` runs it into a temporary directory that
it then swaps in whole; run by hand it writes into --out (new or empty).

  usage: report.py --eval EVAL.json --out DIR [--gate GATE.json]
                   [--personas SEGMENT.json] [--uplift UPLIFT.json]
                   [--offers OFFERS.h5] [--manifest RUN.manifest.json ...]
         report.py --check      (exit 0 when Python has what the report needs, 3 if not)

Per target: ROC and precision-recall curves, cumulative gains and lift by
decile, a reliability (calibration) plot with the Brier score, the score
histogram against the baseline model's with the gate's PSI, and for GBDT
models the top features by gain. When given: persona sizes and a profile
heat map (segment --json), Qini curves with the random line (eval --uplift
--json), the offers' expected value by depth (an offers file). When the scores file
holds reason codes (score --explain N): mean |contribution| per feature and
a beeswarm of contribution by feature value (feature values from the data
file). The header:
data file and rows, model kind, the gate's verdict and numbers, the run
manifest's id, date and command."""
import argparse
import html
import json
import math
import os
import sys

EXIT_MISSING = 3


def need_modules():
    """matplotlib (Agg) and numpy, or exit 3 with what to install."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot  # noqa: F401
        import numpy  # noqa: F401
    except ImportError as e:
        print(f"report.py: {e.name or e} is not installed: the report needs matplotlib and numpy "
              f"(scripts/install-deps.sh, or {sys.executable} -m pip install matplotlib)", file=sys.stderr)
        sys.exit(EXIT_MISSING)


def load_json(path, what):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        sys.exit(f"report.py: {what} {path}: {e.strerror}")
    except json.JSONDecodeError as e:
        sys.exit(f"report.py: {what} {path}: not JSON ({e.msg}, line {e.lineno})")


def num(v):
    """A JSON number or None (eval writes NaN as null)."""
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v


def esc(v):
    """Anything from a file, for HTML (text and attribute values): a string of it, escaped."""
    return html.escape(str(v))


def fmt(v, digits=4):
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if not isinstance(v, (int, float)):  # a file's text where a number belongs: shown as text
        return esc(v)
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) >= 1000):
        return f"{int(v):,}"
    return f"{v:.{digits}f}"


def base_slug(s):
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in s) or "_"


def unique_slugs(names):
    """name -> a slug for HTML ids and PNG names that no other name shares:
    base_slug(name), or base_slug(name) + "-1", "-2"... for every name of a
    group that maps to one slug ("a b" and "a_b": "a_b-1", "a_b-2")."""
    names = list(dict.fromkeys(names))
    base = {t: base_slug(t) for t in names}
    count = {}
    for b in base.values():
        count[b] = count.get(b, 0) + 1
    used = {b for b in base.values() if count[b] == 1}
    out = {}
    for t in names:
        b = base[t]
        if count[b] == 1:
            out[t] = b
            continue
        k = 1
        while f"{b}-{k}" in used:
            k += 1
        out[t] = f"{b}-{k}"
        used.add(out[t])
    return out


SLUGS = {}  # every target name of this report -> its unique slug (main sets it)


def slug(t):
    return SLUGS.get(t) or base_slug(t)


class Report:
    def __init__(self, out):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        self.plt = plt
        plt.rcParams.update({"figure.dpi": 100, "font.size": 9, "axes.grid": True, "grid.alpha": 0.3,
                             "svg.hashsalt": "propscore", "axes.titlesize": 10})
        if "text.parse_math" in plt.rcParams:  # names are text: "$x_$" in a target or feature is no formula
            plt.rcParams["text.parse_math"] = False
        self.out = out
        self.charts = []   # report.json: every chart's data points
        self.sections = []  # (title, html)

    def chart(self, cid, title, target, data, draw, w=5.0, h=3.6):
        """Draw one PNG (OUT/<cid>.png); its data points go to report.json."""
        fig, ax = self.plt.subplots(figsize=(w, h))
        draw(ax)
        ax.set_title(title)
        fig.tight_layout()
        name = f"{cid}.png"
        fig.savefig(os.path.join(self.out, name), format="png", metadata={"Software": None})
        self.plt.close(fig)
        self.charts.append({"id": cid, "file": name, "title": title, "target": target, "data": data})
        return (f'<figure id="{html.escape(cid)}"><img src="{html.escape(name)}" alt="{html.escape(title)}" '
                f'width="{int(w * 100)}" height="{int(h * 100)}"><figcaption>{html.escape(title)}</figcaption></figure>')


def logit_ticks(ax, lo, hi):
    probs = [p for p in (1e-4, 1e-3, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999) if
             lo <= math.log(p / (1 - p)) <= hi]
    ax.set_xticks([math.log(p / (1 - p)) for p in probs])
    ax.set_xticklabels([f"{p:g}" for p in probs], rotation=45)
    ax.set_xlabel("score (probability, logit scale)")


def target_section(rep, t, m, model):
    """Charts of one target from eval --json."""
    parts = []
    sid = slug(t)
    c = m.get("curves")
    if c:
        fpr, tpr = c["fpr"], c["tpr"]
        pts = [(a, b) for a, b in zip(fpr, tpr) if a is not None and b is not None]

        def roc(ax):
            ax.plot([p[0] for p in pts], [p[1] for p in pts], color="C0", lw=2, label=f"model (AUC {fmt(num(m['roc_auc']))})")
            ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="random")
            ax.set_xlabel("false positive rate")
            ax.set_ylabel("true positive rate")
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1.01)
            ax.legend(loc="lower right")
        parts.append(rep.chart(f"roc-{sid}", f"{t}: ROC curve (ROC-AUC {fmt(num(m['roc_auc']))})", t,
                               {"fpr": fpr, "tpr": tpr, "roc_auc": m["roc_auc"]}, roc))
        prec = c["precision"]
        pr = [(r, p) for r, p in zip(tpr, prec) if r is not None and p is not None]
        base = m["positives"] / m["rows"] if m["rows"] else None

        def prc(ax):
            ax.plot([p[0] for p in pr], [p[1] for p in pr], color="C1", lw=2, label=f"model (AP {fmt(num(m['pr_auc']))})")
            if base is not None:
                ax.axhline(base, color="grey", ls="--", lw=1, label=f"base rate {base:.4f}")
            ax.set_xlabel("recall")
            ax.set_ylabel("precision")
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1.01)
            ax.legend(loc="upper right")
        parts.append(rep.chart(f"pr-{sid}", f"{t}: precision–recall (PR-AUC {fmt(num(m['pr_auc']))})", t,
                               {"recall": tpr, "precision": prec, "pr_auc": m["pr_auc"], "base_rate": base}, prc))
    lift = m["lift"]
    gain = [0.0] + lift["cumulative_gain"]
    depth = [d / 10 for d in range(11)]

    def gains(ax):
        if c:
            ax.plot(c["depth"], c["tpr"], color="C0", lw=1, alpha=0.5, label="model (110 depths)")
        ax.plot(depth, gain, "o-", color="C0", lw=2, label="model, by decile")
        ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="random")
        ax.set_xlabel("share of customers targeted (highest scores first)")
        ax.set_ylabel("share of positives reached")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.legend(loc="lower right")
    parts.append(rep.chart(f"gains-{sid}", f"{t}: cumulative gains by decile", t,
                           {"depth": depth, "cumulative_gain": gain}, gains))

    def lifts(ax):
        vals = [v if v is not None else 0 for v in lift["lift"]]
        ax.bar(range(1, 11), vals, color="C2")
        ax.axhline(1, color="grey", ls="--", lw=1)
        ax.set_xticks(range(1, 11))
        ax.set_xlabel("decile (1 = highest scores)")
        ax.set_ylabel("lift (rate / base rate)")
    parts.append(rep.chart(f"lift-{sid}", f"{t}: lift by decile", t,
                           {"decile": list(range(1, 11)), "lift": lift["lift"], "rate": lift["rate"]}, lifts))
    cal = m["calibration"]
    cp = [(p, o, n) for p, o, n in zip(cal["mean_predicted"], cal["observed_rate"], cal["rows"]) if p is not None and o is not None]

    def reliab(ax):
        ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="perfectly calibrated")
        ax.plot([p[0] for p in cp], [p[1] for p in cp], "o-", color="C3", lw=2, label="model")
        for p, o, n in cp:
            ax.annotate(f"{int(n):,}", (p, o), textcoords="offset points", xytext=(4, -10), fontsize=7)
        ax.set_xlabel("mean predicted probability (bin)")
        ax.set_ylabel("observed rate")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.legend(loc="upper left")
    parts.append(rep.chart(f"calibration-{sid}", f"{t}: reliability (Brier {fmt(num(m['brier']), 5)})", t,
                           {"mean_predicted": cal["mean_predicted"], "observed_rate": cal["observed_rate"],
                            "rows": cal["rows"], "brier": m["brier"]}, reliab))
    hist = m.get("score_histogram")
    if hist:
        e, rows, brows = hist["logit_edges"], hist["rows"], hist.get("baseline_rows")
        psi = m.get("psi")

        def hst(ax):
            tot = sum(rows) or 1
            widths = [b - a for a, b in zip(e[:-1], e[1:])]
            ax.bar(e[:-1], [r / tot for r in rows], width=widths, align="edge", color="C0", alpha=0.6,
                   label="this run")
            if brows:
                bt = sum(brows) or 1
                ax.step(e, [brows[0] / bt] + [b / bt for b in brows], where="pre", color="k", lw=1.5,
                        label="baseline model")
            logit_ticks(ax, e[0], e[-1])
            ax.set_ylabel("share of customers")
            ax.legend(loc="upper right")
        title = f"{t}: score distribution" + (f" vs baseline (PSI {psi['value']:.4f})" if psi and num(psi["value"]) is not None else "")
        parts.append(rep.chart(f"histogram-{sid}", title, t,
                               {"logit_edges": e, "rows": rows, "baseline_rows": brows,
                                "psi": psi["value"] if psi else None,
                                "psi_bins": psi if psi else None}, hst))
    imp = (model or {}).get("importance", {}).get(t)
    if imp and imp["features"]:
        feats, g = imp["features"], imp["gain"]
        total = imp.get("total_gain") or 1

        def impo(ax):
            ax.barh(range(len(feats))[::-1], [v / total for v in g], color="C4")
            ax.set_yticks(range(len(feats))[::-1])
            ax.set_yticklabels(feats)
            ax.set_xlabel("share of total split gain")
        parts.append(rep.chart(f"importance-{sid}", f"{t}: top features by gain (GBDT)", t,
                               {"features": feats, "gain": g, "splits": imp["splits"], "total_gain": total}, impo,
                               h=max(2.5, 0.28 * len(feats) + 1)))
    return parts


def personas_section(rep, seg):
    import numpy as np
    ps = seg["personas"]
    ids = [p["persona"] for p in ps]
    sizes = [p["size"] for p in ps]
    parts = []

    def bars(ax):
        ax.bar([str(i) for i in ids], sizes, color="C5")
        ax.set_xlabel("persona")
        ax.set_ylabel("customers")
    parts.append(rep.chart("personas-sizes", f"persona sizes (k = {seg['k']}, {int(seg['rows']):,} customers)",
                           None, {"persona": ids, "size": sizes, "share": [p["share"] for p in ps]}, bars,
                           w=max(5.0, 0.3 * len(ids) + 2)))
    cols = seg["columns"]
    M = np.array([[np.nan if p["mean"].get(col) is None else p["mean"][col] for col in cols] for p in ps], float)
    w = np.array(sizes, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.nansum(M * w[:, None], axis=0) / w.sum()
        sd = np.sqrt(np.nansum(w[:, None] * (M - mu) ** 2, axis=0) / w.sum())
        Z = np.where(sd > 0, (M - mu) / np.where(sd > 0, sd, 1), 0.0)
    order = np.argsort(-np.nanmax(np.abs(Z), axis=0), kind="stable")[:30]
    Zs = Z[:, order]
    shown = [cols[j] for j in order]

    def heat(ax):
        lim = max(1.0, float(np.nanmax(np.abs(Zs))) if Zs.size else 1.0)
        im = ax.imshow(Zs, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_yticks(range(len(ids)))
        ax.set_yticklabels([str(i) for i in ids])
        ax.set_xticks(range(len(shown)))
        ax.set_xticklabels(shown, rotation=60, ha="right", fontsize=7)
        ax.set_ylabel("persona")
        ax.grid(False)
        rep.plt.colorbar(im, ax=ax, label="persona mean, standardized across personas")
    parts.append(rep.chart("personas-profile", "persona profiles (columns that differ most)", None,
                           {"persona": ids, "columns": shown,
                            "z": [[None if not np.isfinite(v) else float(v) for v in row] for row in Zs]}, heat,
                           w=max(6.0, 0.3 * len(shown) + 3), h=max(3.0, 0.3 * len(ids) + 2)))
    return parts


def uplift_section(rep, up):
    parts = []
    for t, m in up["targets"].items():
        d = m["deciles"]
        x = [0.0] + [float(v) for v in d["depth_rows"]]
        y = [0.0] + d["incremental_conversions"]
        yp = [v if v is not None else float("nan") for v in y]

        def qini(ax, x=x, y=yp):
            ax.plot(x, y, "o-", color="C0", lw=2, label=f"model (Qini {fmt(num(m['qini_coefficient']))})")
            ax.plot([0, x[-1]], [0, y[-1]], color="grey", ls="--", lw=1, label="random")
            ax.set_xlabel("customers targeted (highest uplift first)")
            ax.set_ylabel("incremental conversions")
            ax.legend(loc="lower right")
        parts.append(rep.chart(f"qini-{slug(t)}", f"{t}: Qini curve (by {up.get('treatment', 'treatment')})", t,
                               {"rows": x, "incremental_conversions": y, "random": [[0, 0], [x[-1], y[-1]]],
                                "qini_coefficient": m["qini_coefficient"], "auuc": m["auuc"]}, qini))
    return parts


def offers_curve(path, points=100):
    """Cumulative expected value of the offers, best first, at up to `points` depths."""
    import h5py
    import numpy as np
    with h5py.File(path, "r") as f:
        if f.attrs.get("kind") not in ("offers", b"offers"):
            sys.exit(f"report.py: --offers {path}: not a propscore offers file (kind = {f.attrs.get('kind')})")
        g = f["offers"]
        M = int(f.attrs["max_offers"])
        heads = [h.decode() if isinstance(h, bytes) else h for h in g["heads"][...]]
        vals, hs = [], []
        for i in range(M):
            r = g[f"rank_{i}"][...]
            keep = r >= 0
            vals.append(g[f"value_{i}"][...][keep])
            hs.append(r[keep])
    v = np.concatenate(vals) if vals else np.zeros(0)
    h = np.concatenate(hs) if hs else np.zeros(0, int)
    order = np.argsort(-v, kind="stable")
    big = np.finfo(np.float64).max  # sums beyond float64 (values of 1e308) are clamped: report.json stays JSON
    with np.errstate(over="ignore", invalid="ignore"):
        cum = np.nan_to_num(np.concatenate([[0.0], np.cumsum(v[order])]), nan=0.0, posinf=big, neginf=-big)
    n = len(v)
    at = sorted(set(int(round(n * j / points)) for j in range(points + 1)))
    per_head = {hd: int((h == i).sum()) for i, hd in enumerate(heads)}
    return {"offers": [int(a) for a in at], "value": [float(cum[a]) for a in at], "per_head": per_head,
            "total_value": float(cum[-1]), "max_offers": M, "clamped": bool(np.any(np.abs(cum) == big))}


def offers_section(rep, path):
    d = offers_curve(path)

    def draw(ax):
        ax.plot(d["offers"], d["value"], color="C0", lw=2)
        ax.set_xlabel("offers made (best expected value first)")
        ax.set_ylabel("cumulative expected value")
    return [rep.chart("offers-value", f"offers: expected value by depth ({sum(d['per_head'].values()):,} offers)",
                      None, d, draw)]

EXPLAIN_BARS = 12      # features in the mean |contribution| chart
SWARM_FEATURES = 6     # features in the beeswarm chart
SWARM_ROWS = 2000      # rows it samples (evenly spaced over the file)


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def explain_summary(scores, data):
    """The reason codes of a scores file written by score --explain N, per
    head: each feature's mean |contribution| over all rows (a feature that is
    not among a row's N strongest counts 0 there: exact when N is the feature
    count, else a lower bound) and the share of rows where it is a reason; and
    for the strongest features, (feature value from the data file,
    contribution) at up to SWARM_ROWS evenly spaced rows where it is among the
    row's reasons. None when the scores file has no /explain (or h5py is
    missing, or the files are not where eval found them)."""
    try:
        import h5py
    except ImportError:
        print("report.py: h5py is not installed: the reason codes section is left out")
        return None
    import numpy as np
    if not os.path.isfile(scores):
        return None
    with h5py.File(scores, "r") as s:
        if "explain" not in s:
            return None
        g = s["explain"]
        names = [text(n) for n in g["feature_names"][...]] if "feature_names" in g else None
        top, method = int(g.attrs["top"]), text(g.attrs["method"])
        ids = s["customer_id"][...]
        heads = {t: (h["feature"][...].astype(np.int64), h["value"][...]) for t, h in g.items()
                 if isinstance(h, h5py.Group)}
    n = len(ids)
    rows = np.unique(np.linspace(0, n - 1, min(n, SWARM_ROWS)).round().astype(np.int64)) if n else np.zeros(0, int)
    X = None
    if os.path.isfile(data):
        with h5py.File(data, "r") as d:
            names = names or [text(v) for v in d["feature_names"][...]]
            if len(rows) and d["customer_id"].shape == ids.shape and np.array_equal(d["customer_id"][rows], ids[rows]):
                X = d["features"][rows, :]
    if names is None:
        return None
    out = {"top": top, "method": method, "rows": int(n), "heads": {}}
    for t, (F, V) in heads.items():
        f = len(names)
        total = np.zeros(f)
        np.add.at(total, F.ravel(), np.abs(V.ravel().astype(np.float64)))
        mean, share = total / max(n, 1), np.bincount(F.ravel(), minlength=f)[:f] / max(n, 1)
        order = sorted(range(f), key=lambda j: (-mean[j], j))[:EXPLAIN_BARS]
        swarm = []
        for j in (order[:SWARM_FEATURES] if X is not None else []):
            r, k = np.nonzero(F[rows] == j)
            swarm.append({"feature": names[j], "rows": [int(i) for i in rows[r]],
                          "value": [float(x) if np.isfinite(x) else None for x in X[r, j]],
                          "contribution": [float(c) for c in V[rows][r, k]]})
        out["heads"][t] = {"features": [names[j] for j in order], "mean_abs": [float(mean[j]) for j in order],
                           "share_in_top": [float(share[j]) for j in order], "swarm": swarm}
    return out


def explain_section(rep, ex):
    """Per head: mean |contribution| bars and a beeswarm of contribution by feature value."""
    import numpy as np
    parts = [f"<p>Reason codes ({esc(ex['method'])}, the {ex['top']} strongest per customer, "
             f"{ex['rows']:,} customers): a feature's mean |contribution| counts 0 where it is not among "
             f"a customer's {ex['top']} (exact when all features are kept, else a lower bound). The beeswarm "
             f"plots, for up to {SWARM_ROWS:,} customers spread over the file, each contribution where the "
             f"feature is one of the customer's reasons, coloured by its value (grey: missing).</p>"]
    for t, h in ex["heads"].items():
        sid = slug(t)

        def bars(ax, h=h):
            y = range(len(h["features"]))[::-1]
            ax.barh(y, h["mean_abs"], color="C2")
            ax.set_yticks(y)
            ax.set_yticklabels(h["features"])
            ax.set_xlabel("mean |contribution| to the log-odds")
        parts.append(rep.chart(f"explain-{sid}", f"{t}: mean |contribution| per feature", t,
                               {k: h[k] for k in ("features", "mean_abs", "share_in_top")}, bars,
                               h=max(2.5, 0.28 * len(h["features"]) + 1)))
        if not h["swarm"]:
            continue

        def swarm(ax, sw=h["swarm"]):
            rng = np.random.default_rng(0)
            for i, s in enumerate(sw):
                v = np.array([np.nan if x is None else x for x in s["value"]], dtype=np.float64)
                c, ok = np.array(s["contribution"]), np.isfinite(v)
                col = np.zeros(len(v))
                col[ok] = np.argsort(np.argsort(v[ok], kind="stable")) / max(ok.sum() - 1, 1)
                y = len(sw) - 1 - i + rng.uniform(-0.3, 0.3, len(v))
                ax.scatter(c[ok], y[ok], c=col[ok], cmap="coolwarm", vmin=0, vmax=1, s=5, lw=0)
                ax.scatter(c[~ok], y[~ok], color="0.6", s=5, lw=0)
            ax.axvline(0, color="k", lw=0.8)
            ax.set_yticks(range(len(sw))[::-1])
            ax.set_yticklabels([s["feature"] for s in sw])
            ax.set_xlabel("contribution to the log-odds")
            sm = rep.plt.cm.ScalarMappable(cmap="coolwarm", norm=rep.plt.Normalize(0, 1))
            ax.figure.colorbar(sm, ax=ax, ticks=[0, 1], label="feature value").ax.set_yticklabels(["low", "high"])
        parts.append(rep.chart(f"swarm-{sid}", f"{t}: contribution by feature value (top features)", t,
                               {"swarm": h["swarm"]}, swarm, w=6.0, h=max(2.5, 0.5 * len(h["swarm"]) + 1)))
    return parts


def header(ev, gate, manifests):
    """The header's numbers (also in report.json)."""
    model = ev.get("model") or {}
    h = {"data": ev["data"], "data_rows": ev.get("data_rows"), "scores": ev["scores"], "split": ev["split"],
         "model": model.get("found_at") or model.get("path"), "model_kind": model.get("kind"),
         "model_created": model.get("created"), "baseline_scores": ev.get("baseline_scores"),
         "targets": {t: {k: m.get(k) for k in ("rows", "positives", "roc_auc", "pr_auc", "log_loss", "brier")}
                     for t, m in ev["targets"].items()}}
    for t, m in ev["targets"].items():
        if m.get("psi"):
            h["targets"][t]["psi"] = m["psi"]["value"]
    if gate is not None:
        h["gate"] = {"publish": gate.get("publish"), "reason": gate.get("reason"), "heads": gate.get("heads", {})}
    h["runs"] = [{"file": path, "run_id": mf.get("run_id"), "command": mf.get("command"),
                  "argv": mf.get("argv", []), "started": mf.get("started"), "finished": mf.get("finished"),
                  "ranks": mf.get("ranks"), "slurm_job_id": mf.get("slurm_job_id"), "status": mf.get("status"),
                  "propscore_version": mf.get("propscore_version")} for path, mf in manifests]
    return h


def header_html(h):
    e = esc
    rows = [("data file", e(h["data"])), ("rows in the data", fmt(h["data_rows"])), ("scores", e(h["scores"])),
            ("split evaluated", e(h["split"])),
            ("model", f'{e(str(h["model"]))} (<span id="model-kind">{e(str(h["model_kind"]))}</span>'
                      + (f', trained {e(h["model_created"])}' if h.get("model_created") else "") + ")")]
    if h.get("baseline_scores"):
        rows.append(("baseline scores", e(h["baseline_scores"])))
    out = ['<table class="facts">'] + [f"<tr><th>{a}</th><td>{b}</td></tr>" for a, b in rows] + ["</table>"]
    g = h.get("gate")
    if g is not None:
        verdict = "publish" if g["publish"] else "refused"
        out.append(f'<p class="verdict {verdict}" id="gate-verdict" data-value="{verdict}">Quality gate: '
                   f'<strong>{verdict}</strong>' + (f" — {e(g['reason'])}" if g.get("reason") else "") + "</p>")
        keys = ["valid_auc", "baseline_valid_auc", "auc_drop", "valid_log_loss", "log_loss_rise", "psi"]
        out.append('<table class="num"><tr><th>head</th>' + "".join(f"<th>{k}</th>" for k in keys) + "</tr>")
        for t, v in g["heads"].items():
            out.append(f"<tr><th>{e(t)}</th>" + "".join(
                f'<td id="gate-{slug(t)}-{k}" data-value="{e(repr(v[k]))}">{fmt(v[k])}</td>' if k in v else "<td>–</td>"
                for k in keys) + "</tr>")
        out.append("</table>")
    keys = ["rows", "positives", "roc_auc", "pr_auc", "log_loss", "brier", "psi"]
    out.append('<table class="num"><tr><th>target</th>' + "".join(f"<th>{k}</th>" for k in keys) + "</tr>")
    for t, v in h["targets"].items():
        out.append(f"<tr><th>{e(t)}</th>" + "".join(
            f'<td id="m-{slug(t)}-{k}" data-value="{e(repr(v[k]))}">{fmt(num(v[k]), 5 if k in ("log_loss", "brier") else 4)}</td>'
            if v.get(k) is not None else "<td>–</td>" for k in keys) + "</tr>")
    out.append("</table>")
    for r in h["runs"]:
        cmd = " ".join(["propscore"] + [str(x) for x in r["argv"] or []])  # argv starts with the command
        out.append(f'<p class="run">Run <code class="run-id">{e(r["run_id"] or "–")}</code> ({e(str(r["command"]))}'
                   + (f', Slurm job {e(r["slurm_job_id"])}' if r.get("slurm_job_id") else "")
                   + f', started <span class="run-date">{e(str(r["started"]))}</span>, {e(r["ranks"])} ranks, '
                   f'{e(str(r["status"]))}): <code class="run-command">{e(cmd)}</code></p>')
    return "\n".join(out)


CSS = """body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1400px}
h1{font-size:1.4em}h2{font-size:1.15em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left}
table.num td{text-align:right;font-variant-numeric:tabular-nums}
.verdict{font-size:1.1em;padding:.4em .7em;display:inline-block}.publish{background:#e3f4e3}.refused{background:#fbe3e3}
figure{display:inline-block;margin:.5em;vertical-align:top}figcaption{font-size:.85em;color:#555}
code{background:#f4f4f4;padding:0 .2em;word-break:break-all}"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval", help="eval --json output")
    ap.add_argument("--out", help="the report directory (new or empty)")
    ap.add_argument("--gate", help="gate --json output")
    ap.add_argument("--personas", help="segment --json output")
    ap.add_argument("--uplift", help="eval --uplift --json output")
    ap.add_argument("--offers", help="an offers file (offers.h5)")
    ap.add_argument("--manifest", action="append", default=[],
                    help="a run manifest (default: SCORES.manifest.json and MODEL.manifest.json where present)")
    ap.add_argument("--check", action="store_true", help="exit 0 if Python has what the report needs, else 3")
    a = ap.parse_args()
    need_modules()
    if a.check:
        return 0
    if not a.eval or not a.out:
        ap.error("--eval and --out are required")
    ev = load_json(a.eval, "--eval")
    if "targets" not in ev or "lift" not in next(iter(ev["targets"].values()), {"lift": 1}):
        sys.exit(f"report.py: --eval {a.eval}: not the output of propscore eval --json")
    if os.path.exists(a.out) and (not os.path.isdir(a.out) or set(os.listdir(a.out)) - {"eval.json"}):
        sys.exit(f"report.py: --out {a.out}: give a new or empty directory")
    os.makedirs(a.out, exist_ok=True)
    gate = load_json(a.gate, "--gate") if a.gate else None
    mpaths = a.manifest or [p for p in (ev["scores"] + ".manifest.json",
                                        ((ev.get("model") or {}).get("found_at") or "") + ".manifest.json")
                            if p != ".manifest.json" and os.path.isfile(p)]
    manifests = [(p, load_json(p, "--manifest")) for p in mpaths]
    up = load_json(a.uplift, "--uplift") if a.uplift else None
    # one slug per target name across the eval, gate and uplift outputs: unique ids and PNG names
    SLUGS.update(unique_slugs(list(ev["targets"]) + list((gate or {}).get("heads", {}))
                              + list((up or {}).get("targets", {}))))
    rep = Report(a.out)
    hd = header(ev, gate, manifests)
    body = []
    for t, m in ev["targets"].items():
        body.append((f"Target {t}", target_section(rep, t, m, ev.get("model"))))
    if a.personas:
        body.append(("Personas", personas_section(rep, load_json(a.personas, "--personas"))))
    if a.uplift:
        body.append(("Uplift (Qini)", uplift_section(rep, up)))
    if a.offers:
        body.append(("Offers", offers_section(rep, a.offers)))
    ex = explain_summary(ev["scores"], ev["data"])
    if ex:
        body.append(("Reason codes", explain_section(rep, ex)))
    title = f"propscore report: {os.path.basename(ev['scores'])} on {os.path.basename(ev['data'])}"
    page = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
            f"<h1>{html.escape(title)}</h1>", header_html(hd)]
    page.append("<p>Contents: " + " · ".join(f'<a href="#s{i}">{html.escape(s)}</a>' for i, (s, _) in enumerate(body)) + "</p>")
    for i, (s, figs) in enumerate(body):
        page.append(f'<h2 id="s{i}">{html.escape(s)}</h2>')
        page.extend(figs)
    page.append("<p><small>Numbers and chart data: <a href=\"report.json\">report.json</a>; "
                "the eval output: <a href=\"eval.json\">eval.json</a>. Written by scripts/report.py.</small></p>")
    page.append("</body></html>")
    with open(os.path.join(a.out, "report.json"), "w") as f:
        json.dump({"header": hd, "charts": rep.charts}, f, indent=1, allow_nan=False)
        f.write("\n")
    with open(os.path.join(a.out, "index.html"), "w") as f:
        f.write("\n".join(page) + "\n")
    print(f"report: wrote {os.path.join(a.out, 'index.html')}: {len(rep.charts)} charts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
