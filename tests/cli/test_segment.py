"""segment: k-means personas vs planted clusters and scikit-learn, the same
bytes for any rank count, assignment with a saved model, bad input."""
import json
import os

import h5py
import numpy as np
import pytest

from pstest import digest, error_line, gen, run


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    d = tmp_path_factory.mktemp("seg")
    return gen(str(d / "c.h5"), rows=12000, features=8, extra=("--clusters", "6"))


def std_like_prepare(X, mean, scale):
    """The standardized float32 rows of prepare.c (NaN -> 0), from the model's mean/scale."""
    V = X.astype(np.float64)
    S = (V - mean) * scale
    S = np.where(np.isfinite(V), S, 0.0)
    return S.astype(np.float32)


def read_personas(path):
    with h5py.File(path) as f:
        return {"ids": f["customer_id"][...], "persona": f["segments/persona"][...],
                "distance": f["segments/distance"][...], "centroids": f["model/centroids"][...],
                "mean": f["model/standardize/mean"][...], "scale": f["model/standardize/scale"][...],
                "names": [n.decode() for n in f["model/columns/name"][...]], "attrs": dict(f.attrs)}


def test_planted_clusters_and_sklearn(planted, tmp_path):
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    out = str(tmp_path / "p.h5")
    run(2, "segment", "--data", planted, "--k", 6, "--n-init", 3, "--out", out, "--quiet")
    p = read_personas(out)
    with h5py.File(planted) as f:
        truth = f["truth/cluster"][...]
        ids = f["customer_id"][...]
        X = f["features"][...]
    assert (p["ids"] == ids).all()
    assert adjusted_rand_score(truth, p["persona"]) >= 0.95
    Z = std_like_prepare(X, p["mean"], p["scale"]).astype(np.float64)
    # our inertia: exact distances to our centroids
    ours = float(((Z - p["centroids"][p["persona"]]) ** 2).sum())
    assert abs(ours - p["attrs"]["inertia"]) <= 1e-6 * ours
    np.testing.assert_allclose(p["distance"] ** 2, ((Z - p["centroids"][p["persona"]]) ** 2).sum(1), rtol=1e-5,
                               atol=1e-5)
    sk = KMeans(n_clusters=6, n_init=3, random_state=0).fit(Z)
    assert ours <= sk.inertia_ * 1.005, (ours, sk.inertia_)


def test_sklearn_inertia_unplanted(tmp_path):
    """Overlapping customer features (no planted clusters): within 0.5% of scikit-learn."""
    from sklearn.cluster import KMeans
    data = gen(str(tmp_path / "d.h5"), rows=6000, features=10)
    out = str(tmp_path / "p.h5")
    run(1, "segment", "--data", data, "--k", 8, "--n-init", 5, "--out", out, "--quiet")
    p = read_personas(out)
    with h5py.File(data) as f:
        X = f["features"][...]
    Z = std_like_prepare(X, p["mean"], p["scale"]).astype(np.float64)
    ours = float(((Z - p["centroids"][p["persona"]]) ** 2).sum())
    sk = KMeans(n_clusters=8, n_init=5, random_state=0).fit(Z)
    assert ours <= sk.inertia_ * 1.005, (ours, sk.inertia_)


def test_same_bytes_any_rank_count(tmp_path):
    data = gen(str(tmp_path / "d.h5"), rows=5003, features=12)
    digs = set()
    for np_ in (1, 2, 3):
        out = str(tmp_path / f"p{np_}.h5")
        run(np_, "segment", "--data", data, "--k", 7, "--n-init", 2, "--out", out, "--quiet")
        digs.add(digest(out))
    assert len(digs) == 1


def test_fused_kernel_agrees_with_openblas_path(planted, tmp_path):
    """The fused AVX-512 assignment (the default where the CPU has it) and the
    OpenBLAS GEMM + argmin path (PROPSCORE_KMEANS_ASSIGN=blas) find the same
    personas; dot products round differently, so centroids agree to ~1e-9."""
    a, b = str(tmp_path / "a.h5"), str(tmp_path / "b.h5")
    run(2, "segment", "--data", planted, "--k", 6, "--n-init", 2, "--out", a, "--quiet")
    p = run(2, "segment", "--data", planted, "--k", 6, "--n-init", 2, "--out", b,
            env={"PROPSCORE_KMEANS_ASSIGN": "blas"})
    assert "cpu-blas" in p.stderr
    pa, pb = read_personas(a), read_personas(b)
    assert (pa["persona"] == pb["persona"]).all()
    np.testing.assert_allclose(pa["centroids"], pb["centroids"], rtol=1e-9, atol=1e-12)


def test_ranks_agree_on_one_assignment_path(tmp_path):
    """A rank that cannot take the fused path (here: PROPSCORE_KMEANS_ASSIGN=blas
    on rank 0 only, as on a node without AVX-512) makes every rank take the
    OpenBLAS path: the file equals the all-OpenBLAS one, byte for byte."""
    import subprocess
    from pstest import BIN, MPIEXEC
    data = gen(str(tmp_path / "d.h5"), rows=3001, features=10)
    ref, mixed = str(tmp_path / "ref.h5"), str(tmp_path / "mixed.h5")
    run(2, "segment", "--data", data, "--k", 5, "--out", ref, "--quiet", env={"PROPSCORE_KMEANS_ASSIGN": "blas"})
    args = ["segment", "--data", data, "--k", 5, "--out", mixed]
    cmd = [MPIEXEC, "-n", "1", "env", "PROPSCORE_KMEANS_ASSIGN=blas", BIN, *args, ":", "-n", "1", BIN, *args]
    p = subprocess.run([str(a) for a in cmd], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    assert "assignment by OpenBLAS on every rank (PROPSCORE_KMEANS_ASSIGN=blas)" in p.stderr
    assert digest(mixed) == digest(ref)


def test_model_assigns_new_month(planted, tmp_path):
    out = str(tmp_path / "p.h5")
    run(1, "segment", "--data", planted, "--k", 6, "--out", out, "--quiet")
    again = str(tmp_path / "again.h5")
    run(3, "segment", "--data", planted, "--model", out, "--out", again, "--quiet")
    a, b = read_personas(out), read_personas(again)
    assert (a["persona"] == b["persona"]).all()
    np.testing.assert_array_equal(a["centroids"], b["centroids"])
    assert b["names"] == a["names"]


def test_columns_prefix_and_json(planted, tmp_path):
    with h5py.File(planted) as f:
        names = [n.decode() for n in f["feature_names"][...]]
    p = run(2, "segment", "--data", planted, "--k", 3, "--columns", f"{names[0]},{names[1][:3]}*", "--json",
            "--quiet")
    doc = json.loads(p.stdout)
    assert doc["columns"][0] == names[0] and names[1] in doc["columns"]
    assert len(doc["personas"]) == 3
    assert sum(q["size"] for q in doc["personas"]) == 12000
    assert abs(sum(q["share"] for q in doc["personas"]) - 1) < 1e-9
    assert all(len(q["apart"]) == min(3, len(doc["columns"])) for q in doc["personas"])


def test_k_range(planted):
    p = run(2, "segment", "--data", planted, "--k-range", "4:7", "--sample", 500, "--json", "--quiet")
    rows = json.loads(p.stdout)["k_range"]
    assert [r["k"] for r in rows] == [4, 5, 6, 7]
    inertia = [r["inertia"] for r in rows]
    assert inertia == sorted(inertia, reverse=True)
    sil = {r["k"]: r["silhouette"] for r in rows}
    assert max(sil, key=sil.get) == 6  # the planted k has the best silhouette


def test_bad_input(planted, tmp_path):
    out = str(tmp_path / "p.h5")
    p = run(1, "segment", "--data", planted, "--k", 0, "--out", out, check=False)
    assert p.returncode == 2 and "--k" in error_line(p)
    p = run(2, "segment", "--data", planted, "--k", 20000, "--out", out, check=False)
    assert p.returncode == 2 and "rows" in error_line(p)
    p = run(1, "segment", "--data", planted, "--columns", "nope", check=False)
    assert p.returncode == 2 and "nope" in error_line(p)
    p = run(1, "segment", "--data", planted, "--k-range", "5:3", check=False)
    assert p.returncode == 2 and "--k-range" in error_line(p)
    p = run(1, "segment", "--data", planted, "--k-range", "2:3", "--out", out, check=False)
    assert p.returncode == 2 and "--out" in error_line(p)
    assert not os.path.exists(out)


def test_constant_and_identical_rows(tmp_path):
    path = str(tmp_path / "same.h5")
    n = 50
    with h5py.File(path, "w") as f:
        f.attrs["schema_version"] = 1
        X = np.tile(np.array([[1.0, 2.0, 3.0]], np.float32), (n, 1))
        f["features"] = X
        f["customer_id"] = np.arange(n, dtype=np.int64) + 100
        f["feature_names"] = np.array([b"a", b"b", b"c"])
    p = run(2, "segment", "--data", path, "--k", 2, check=False)
    assert p.returncode != 0 and "distinct rows" in error_line(p)
    out = str(tmp_path / "one.h5")
    p = run(2, "segment", "--data", path, "--k", 1, "--out", out)
    assert "constant" in p.stderr
    assert (read_personas(out)["persona"] == 0).all()
    # one constant column among varying ones: a warning, a correct answer
    path2 = str(tmp_path / "const.h5")
    rng = np.random.default_rng(1)
    X = np.c_[rng.normal(size=(300, 2)) + np.repeat([[0, 0], [8, 8], [0, 8]], 100, 0), np.full(300, 5.0)]
    with h5py.File(path2, "w") as f:
        f.attrs["schema_version"] = 1
        f["features"] = X.astype(np.float32)
        f["customer_id"] = np.arange(300, dtype=np.int64)
        f["feature_names"] = np.array([b"a", b"b", b"flat"])
    out2 = str(tmp_path / "c.h5")
    p = run(1, "segment", "--data", path2, "--k", 3, "--out", out2)
    assert "flat is constant" in p.stderr
    from sklearn.metrics import adjusted_rand_score
    assert adjusted_rand_score(np.repeat([0, 1, 2], 100), read_personas(out2)["persona"]) == 1.0


def test_profile_scores_and_rates(tmp_path):
    """Per-persona size, share, raw means, mean scores and label rates vs numpy recounts."""
    data = gen(str(tmp_path / "g.h5"), rows=4000, features=10)
    model, scores, out = (str(tmp_path / x) for x in ("m.h5", "s.h5", "p.h5"))
    run(1, "train", "--data", data, "--model", model, "--quiet")
    run(2, "score", "--data", data, "--model", model, "--out", scores, "--quiet")
    p = run(3, "segment", "--data", data, "--k", 4, "--scores", scores, "--out", out, "--json", "--quiet")
    doc = json.loads(p.stdout)
    per = read_personas(out)["persona"]
    with h5py.File(data) as f, h5py.File(scores) as s:
        X = f["features"][...].astype(np.float64)
        for q in doc["personas"]:
            m = per == q["persona"]
            assert q["size"] == m.sum()
            for j, name in enumerate(doc["columns"]):
                col = X[m, j]
                col = np.where(np.isfinite(col), col, np.nanmean(X[:, j][np.isfinite(X[:, j])]))
                assert abs(q["mean"][name] - col.mean()) <= 1e-4 * (1 + abs(col.mean()))
            for t in ("purchase_3m", "churn"):
                assert abs(q["outcomes"][t]["rate"] - f[f"labels/{t}"][...][m].mean()) < 1e-12
                assert abs(q["outcomes"][t]["mean_score"] - s[f"scores/{t}"][...][m].astype(np.float64).mean()) < 1e-7


@pytest.fixture(scope="module")
def odd(tmp_path_factory):
    """An odd column count (records of k-means|| between ranks are not a multiple of 8 bytes)."""
    d = tmp_path_factory.mktemp("odd")
    return gen(str(d / "o.h5"), rows=3001, features=7, extra=("--clusters", "4"))


@pytest.mark.parametrize("where,restart", [("iteration:1", 0), ("iteration:12", 1), ("iteration:21:1", 2)])
def test_stop_and_resume_is_bitwise(odd, tmp_path, where, restart):
    """A stop signal between Lloyd iterations (here in the first, second and
    third restart, the last raised on rank 1) ends with exit 75, no output and
    a checkpoint; the same command resumes to the bytes of a run that never
    stopped."""
    ref, out = str(tmp_path / "ref.h5"), str(tmp_path / "p.h5")
    args = ("segment", "--data", odd, "--k", 5, "--n-init", 3)
    run(2, *args, "--out", ref, "--quiet")
    p = run(2, *args, "--out", out, "--quiet", check=False, env={"PROPSCORE_FAULT_STOP": where})
    assert p.returncode == 75, p.stderr
    assert "run the same command again to resume" in p.stdout
    assert not os.path.exists(out) and os.path.exists(out + ".ckpt")
    p = run(2, *args, "--out", out)
    assert f"resumed at restart {restart}," in p.stderr
    assert digest(out) == digest(ref)
    assert not os.path.exists(out + ".ckpt")


def test_stopped_twice_and_resumed_on_other_ranks(odd, tmp_path):
    ref, out = str(tmp_path / "ref.h5"), str(tmp_path / "p.h5")
    args = ("segment", "--data", odd, "--k", 6, "--n-init", 2, "--out", out, "--quiet")
    run(1, "segment", "--data", odd, "--k", 6, "--n-init", 2, "--out", ref, "--quiet")
    assert run(3, *args, check=False, env={"PROPSCORE_FAULT_STOP": "iteration:2"}).returncode == 75
    assert run(1, *args, check=False, env={"PROPSCORE_FAULT_STOP": "iteration:18"}).returncode == 75
    run(2, *args)
    assert digest(out) == digest(ref)


def test_checkpoint_of_another_run_is_refused(odd, tmp_path):
    out = str(tmp_path / "p.h5")
    args = ("segment", "--data", odd, "--k", 5, "--out", out, "--quiet")
    assert run(1, *args, check=False, env={"PROPSCORE_FAULT_STOP": "iteration:2"}).returncode == 75
    p = run(1, *args, "--seed", 7, check=False)
    assert p.returncode == 1 and "seed=7" in error_line(p) and "remove it to start over" in error_line(p)
    assert not os.path.exists(out)


def test_stop_without_output_and_k_range(odd):
    for extra in (("--k", 4), ("--k-range", "2:4", "--sample", 100)):
        p = run(2, "segment", "--data", odd, *extra, "--quiet", check=False,
                env={"PROPSCORE_FAULT_STOP": "iteration:3"})
        assert p.returncode == 75 and "stopped by SIGTERM" in p.stdout, p.stderr


def test_stop_while_assigning_with_a_model(planted, tmp_path):
    model, out = str(tmp_path / "m.h5"), str(tmp_path / "new.h5")
    run(1, "segment", "--data", planted, "--k", 3, "--out", model, "--quiet")
    p = run(2, "segment", "--data", planted, "--model", model, "--out", out, "--quiet", check=False,
            env={"PROPSCORE_FAULT_STOP": "assign:1"})
    assert p.returncode == 75 and "nothing written" in p.stdout, p.stderr
    assert not os.path.exists(out) and not os.path.exists(out + ".ckpt")


def test_model_refuses_fit_options(planted, tmp_path):
    model, out = str(tmp_path / "m.h5"), str(tmp_path / "new.h5")
    run(1, "segment", "--data", planted, "--k", 3, "--out", model, "--quiet")
    for opt in (("--k", 7), ("--columns", "x"), ("--n-init", 2), ("--max-iter", 5), ("--tol", 0.1), ("--seed", 1),
                ("--sample", 10), ("--device", "cpu")):
        p = run(1, "segment", "--data", planted, "--model", model, "--out", out, *opt, check=False)
        assert p.returncode == 2 and f"{opt[0]} does not apply with --model" in error_line(p)
    assert not os.path.exists(out)


def test_unused_bad_label_is_not_read(tmp_path):
    """Without --scores segment shows no label rates: a label it does not use
    (here one with a value 2) is not read, and changes nothing."""
    import shutil
    data = gen(str(tmp_path / "g.h5"), rows=2000, features=6)
    bad = str(tmp_path / "bad.h5")
    shutil.copy(data, bad)
    with h5py.File(bad, "r+") as f:
        y = f["labels/churn"][...].astype(np.float64)
        y[5] = 2
        del f["labels/churn"]
        f["labels/churn"] = y
    a, b = str(tmp_path / "a.h5"), str(tmp_path / "b.h5")
    run(2, "segment", "--data", data, "--k", 3, "--out", a, "--quiet")
    run(2, "segment", "--data", bad, "--k", 3, "--out", b, "--quiet")
    assert digest(a) == digest(b)


def test_model_column_named_twice_in_data(planted, tmp_path):
    import shutil
    model, out, dup = (str(tmp_path / x) for x in ("m.h5", "new.h5", "dup.h5"))
    run(1, "segment", "--data", planted, "--k", 3, "--out", model, "--quiet")
    shutil.copy(planted, dup)
    with h5py.File(dup, "r+") as f:
        names = f["feature_names"][...]
        names[3] = names[1]
        del f["feature_names"]
        f["feature_names"] = names
        name = names[1].decode()
    p = run(1, "segment", "--data", dup, "--model", model, "--out", out, check=False)
    assert p.returncode != 0 and name in error_line(p) and "feature_names" in error_line(p)
    assert not os.path.exists(out)


def test_personas_file_is_not_a_scoring_model(planted, tmp_path):
    model = str(tmp_path / "m.h5")
    run(1, "segment", "--data", planted, "--k", 3, "--out", model, "--quiet")
    p = run(1, "score", "--data", planted, "--model", model, "--out", str(tmp_path / "s.h5"), check=False)
    assert p.returncode == 1 and "segment --model" in error_line(p)


@pytest.mark.skipif(not os.environ.get("PROPSCORE_ASAN_BIN"), reason="needs the ASan + UBSan build")
def test_odd_columns_on_two_ranks_under_ubsan(odd, tmp_path):
    """k-means|| exchanges candidate records between ranks: with an odd column
    count their headers were read misaligned (UBSan)."""
    import subprocess
    from pstest import MPIEXEC
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:exitcode=99",
               UBSAN_OPTIONS="halt_on_error=1:exitcode=98")
    r = subprocess.run([MPIEXEC, "-n", "2", os.environ["PROPSCORE_ASAN_BIN"], "segment", "--data", odd, "--k", "9",
                        "--out", str(tmp_path / "p.h5"), "--quiet"], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 0 and "runtime error" not in r.stderr, r.stderr[-3000:]
