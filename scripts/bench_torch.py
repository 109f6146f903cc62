#!/usr/bin/env python3
"""bench_torch.py: the PyTorch equivalents of propscore's GPU kernels, for
docs/BENCHMARKS.md (run by scripts/gpu-check.sh on a GPU machine).

  kernels: sigmoid(X @ W) and X^T (sigmoid(X @ W) - Y), N x F rows, K heads,
           float32 and bfloat16, timed with CUDA events after an L2 flush;
  --fit:   a full fit of N x F, K = 2 heads: torch.optim.LBFGS (strong Wolfe,
           same tolerance) against `propscore train --device cuda` on the same
           rows written to HDF5, with the validation AUC of each.
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000_000)
    ap.add_argument("--features", type=int, default=256)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--fit", action="store_true", help="also the full L-BFGS fit comparison")
    ap.add_argument("--fit-rows", type=int, default=20_000_000)
    ap.add_argument("--propscore", default="build-cuda/propscore")
    ap.add_argument("--workdir", default="/tmp/propscore-bench")
    a = ap.parse_args()
    import torch
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to benchmark")
        return 77
    dev = torch.device("cuda")
    N, F = a.rows, a.features
    flush = torch.empty(256 << 20, dtype=torch.uint8, device=dev)
    src = torch.empty(1 << 30, dtype=torch.uint8, device=dev)
    dst = torch.empty_like(src)
    t0, t1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

    def timed(fn, reps):
        out = []
        for _ in range(reps):
            flush.zero_()
            t0.record()
            fn()
            t1.record()
            torch.cuda.synchronize()
            out.append(t0.elapsed_time(t1))
        return float(np.median(out))

    copy_ms = min(timed(lambda: dst.copy_(src), 3) for _ in range(2))
    copy = 2 * src.numel() / (copy_ms * 1e-3) / 1e9
    print(f"# bench_torch  {torch.cuda.get_device_name()}  torch {torch.__version__}  N={N} F={F}  copy {copy:.0f} GB/s")
    print(f"#{'op':>24} {'K':>4} {'dtype':>6} {'ms':>10} {'GB/s':>9} {'%copy':>7}")
    g = torch.Generator(device=dev).manual_seed(0)
    for dtype in (torch.float32, torch.bfloat16):
        X = torch.randn(N, F, device=dev, generator=g, dtype=torch.float32).to(dtype)
        esz = X.element_size()
        for K in (2, 16):
            W = (0.05 * torch.randn(F, K, device=dev, generator=g)).to(dtype)
            Y = (torch.rand(N, K, device=dev, generator=g) < 0.1).to(dtype)
            ms = timed(lambda: torch.sigmoid(X @ W), a.reps)
            gb = (N * F * esz + N * K * esz) / (ms * 1e-3) / 1e9
            print(f"{'sigmoid(X@W)':>25} {K:>4} {str(dtype)[6:]:>6} {ms:>10.3f} {gb:>9.1f} {100 * gb / copy:>6.1f}%")
            ms = timed(lambda: X.T @ (torch.sigmoid(X @ W) - Y), a.reps)
            gb = (N * F * esz + N * K * esz) / (ms * 1e-3) / 1e9
            print(f"{'X^T(sigmoid(X@W)-Y)':>25} {K:>4} {str(dtype)[6:]:>6} {ms:>10.3f} {gb:>9.1f} {100 * gb / copy:>6.1f}%")
            del W, Y
        del X
    torch.cuda.empty_cache()
    if a.fit:
        fit(a, torch, dev)
    return 0


def fit(a, torch, dev):
    """torch.optim.LBFGS vs propscore train --device cuda on the same rows."""
    import h5py
    from sklearn.metrics import roc_auc_score
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "cli"))
    from pstest import validation_mask
    N, F, K, l2, tol = a.fit_rows, a.features, 2, 1e-4, 1e-7
    os.makedirs(a.workdir, exist_ok=True)
    path = os.path.join(a.workdir, f"fit_{N}x{F}.h5")
    g = torch.Generator(device=dev).manual_seed(1)
    X = torch.randn(N, F, device=dev, generator=g)
    beta = torch.randn(F, K, device=dev, generator=g) * (torch.rand(F, K, device=dev, generator=g) < 0.3) * 0.3
    logit = X @ beta + torch.tensor([-3.2, -2.2], device=dev)
    Y = (torch.rand(N, K, device=dev, generator=g) < torch.sigmoid(logit)).to(torch.uint8)
    ids = np.arange(N, dtype=np.int64) + 10**9
    if not os.path.exists(path):
        t = time.time()
        with h5py.File(path + ".tmp", "w") as h:
            h.attrs["schema_version"] = np.int64(1)
            ch = max(1, (4 << 20) // (4 * F))
            h.create_dataset("features", data=X.cpu().numpy(), chunks=(ch, F))
            h["customer_id"] = ids
            h["feature_names"] = np.array([f"f{j}".encode() for j in range(F)])
            for k, name in enumerate(("purchase_3m", "churn")):
                h[f"labels/{name}"] = Y[:, k].cpu().numpy()
        os.replace(path + ".tmp", path)
        print(f"# fit data written: {path} in {time.time() - t:.1f} s")
    va = torch.from_numpy(validation_mask(ids)).to(dev)
    tr = ~va
    # propscore: the whole train command on one GPU
    model = os.path.join(a.workdir, "fit_model.h5")
    t = time.time()
    subprocess.run([a.propscore, "train", "--data", path, "--model", model, "--device", "cuda", "--solver", "lbfgs",
                    "--l2", str(l2), "--tol", str(tol), "--quiet"], check=True)
    ps_s = time.time() - t
    with h5py.File(model) as m:
        mean, scale = m["standardize/mean"][...], m["standardize/scale"][...]
        W, b = m["weights"][...], m["bias"][...]
        aucs_ps = [m["metrics"][n].attrs["valid_auc"] for n in ("purchase_3m", "churn")]
    # torch: same standardization (from the training rows), same objective, one LBFGS per head
    Xs = (X - torch.tensor(mean, device=dev, dtype=torch.float32)) * torch.tensor(scale, device=dev,
                                                                                    dtype=torch.float32)
    Xtr = Xs[tr]
    torch.cuda.synchronize()
    t = time.time()
    aucs_t = []
    for k in range(K):
        yk = Y[tr, k].float()
        w = torch.zeros(F + 1, device=dev, dtype=torch.float32, requires_grad=True)
        opt = torch.optim.LBFGS([w], lr=1, max_iter=500, tolerance_grad=tol, tolerance_change=1e-12,
                                history_size=10, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            z = Xtr @ w[:F] + w[F]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(z, yk) + 0.5 * l2 * (w[:F] ** 2).sum()
            loss.backward()
            return loss
        opt.step(closure)
        with torch.no_grad():
            p = torch.sigmoid(Xs[va] @ w[:F] + w[F]).cpu().numpy()
        aucs_t.append(roc_auc_score(Y[va, k].cpu().numpy(), p))
    torch.cuda.synchronize()
    t_s = time.time() - t
    print(f"# fit {N} x {F}, K=2, l2 {l2}, tol {tol}")
    print(f"{'propscore train (cuda)':>28} {ps_s:8.2f} s  valid AUC {aucs_ps[0]:.5f} {aucs_ps[1]:.5f}  (whole command)")
    print(f"{'torch.optim.LBFGS':>28} {t_s:8.2f} s  valid AUC {aucs_t[0]:.5f} {aucs_t[1]:.5f}  (fit only)")
    print(f"# speedup {t_s / ps_s:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
