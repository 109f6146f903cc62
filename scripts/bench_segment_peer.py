"""bench_segment_peer.py: scikit-learn KMeans and faiss (CPU) on the same
standardized rows as propscore segment (standardized in numpy with the
personas file's mean/scale, as host/stats/prepare.c does), k = K, threads =
THREADS. Per Lloyd iteration: a fixed number of iterations from the same
initial centers (propscore's k-means|| result is not used: the first K rows by
id hash), tol 0; to convergence: each library's own defaults (sklearn
k-means++, tol 1e-4; faiss has no tolerance: its default 25 iterations,
all rows). MODE (6th argument): fixed, converged or all (default). Prints
one line per measurement."""
import sys
import time

import h5py
import numpy as np

data, personas, k, iters, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
mode = sys.argv[6] if len(sys.argv) > 6 else "all"
fixed, converged = mode in ("fixed", "all"), mode in ("converged", "all")
from threadpoolctl import threadpool_limits  # noqa: E402
import faiss  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402

with h5py.File(personas) as p:
    mean, scale = p["model/standardize/mean"][...], p["model/standardize/scale"][...]
    src = p["model/columns/source"][...]
with h5py.File(data) as f:
    X = f["features"][...][:, src].astype(np.float64)
Z = np.where(np.isfinite(X), (X - mean) * scale, 0.0).astype(np.float32)
n = len(Z)
init = Z[np.random.default_rng(0).choice(n, k, replace=False)].copy()


def inertia(C):
    idx = faiss.IndexFlatL2(Z.shape[1])
    idx.add(C.astype(np.float32))
    D, _ = idx.search(Z, 1)
    return float(D.astype(np.float64).sum())


faiss.omp_set_num_threads(threads)
with threadpool_limits(threads):
    if fixed:
        t = time.perf_counter()
        km = KMeans(k, init=init, n_init=1, max_iter=iters, tol=0, algorithm="lloyd").fit(Z)
        dt = time.perf_counter() - t
        print(f"sklearn fixed {km.n_iter_} iterations: {dt:.3f} s, {dt / km.n_iter_:.4f} s/iteration")
    if converged:
        t = time.perf_counter()
        km = KMeans(k, n_init=1, random_state=0).fit(Z)
        dt = time.perf_counter() - t
        print(f"sklearn converged: {km.n_iter_} iterations, {dt:.3f} s, inertia {inertia(km.cluster_centers_):.9g}")
if fixed:
    fk = faiss.Kmeans(Z.shape[1], k, niter=iters, max_points_per_centroid=n, seed=1, verbose=False)
    t = time.perf_counter()
    fk.train(Z, init_centroids=init)
    dt = time.perf_counter() - t
    print(f"faiss fixed {iters} iterations: {dt:.3f} s, {dt / iters:.4f} s/iteration")
if converged:
    fk = faiss.Kmeans(Z.shape[1], k, niter=25, max_points_per_centroid=n, seed=1, verbose=False)
    t = time.perf_counter()
    fk.train(Z)
    dt = time.perf_counter() - t
    print(f"faiss default 25 iterations: {dt:.3f} s, inertia {inertia(fk.centroids):.9g}")
