#!/usr/bin/env python3
"""to_hdf5.py: import a CSV or Parquet table into propscore's input schema
(datasets/SCHEMA.md): /features float32 [N,F], /customer_id int64 [N],
/feature_names [F], /labels/<name> uint8 [N].

  scripts/to_hdf5.py customers.csv --out customers.h5 --id customer_id \
      --label purchase_3m=bought_within_90d --label churn=status:churned

Numeric columns become features as they are (missing -> NaN); booleans 0/1;
string/categorical columns are one-hot encoded as "col=value" (missing -> all
zeros); datetimes become days since 1970-01-01. The output is written to a
temporary name and renamed when complete.
"""
import argparse
import os
import sys

SCHEMA_VERSION = 1


def fail(msg):
    print(f"to_hdf5: error: {msg}", file=sys.stderr)
    sys.exit(1)


def read_table(path):
    import pandas as pd
    if not os.path.exists(path):
        fail(f"{path}: no such file")
    low = path.lower()
    try:
        if low.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        if low.endswith((".csv", ".csv.gz", ".txt", ".tsv")):
            return pd.read_csv(path, sep="\t" if low.endswith(".tsv") else ",", low_memory=False)
    except Exception as e:  # pandas/pyarrow raise many types; report them in one line
        fail(f"{path}: cannot read: {str(e).splitlines()[0]}")
    fail(f"{path}: unknown table format (use .csv, .tsv or .parquet)")


def parse_label(spec, df):
    """NAME=COL[:POSITIVE] -> (name, 0/1 uint8 array)."""
    import numpy as np
    import pandas as pd
    if "=" not in spec:
        fail(f"--label {spec}: expected NAME=COL[:POSITIVE]")
    name, rest = spec.split("=", 1)
    col, pos = (rest.split(":", 1) + [None])[:2] if ":" in rest else (rest, None)
    if not name or "/" in name:
        fail(f"--label {spec}: bad label name '{name}'")
    if col not in df.columns:
        fail(f"--label {spec}: no column '{col}' (columns: {', '.join(map(str, df.columns[:20]))})")
    s = df[col]
    missing = s.isna().to_numpy()
    if missing.any():
        fail(f"column '{col}' (label {name}): missing value at row {int(np.argmax(missing))}")
    if pos is not None:
        return name, col, (s.astype(str) == pos).to_numpy().astype(np.uint8)
    if s.dtype == bool:
        return name, col, s.to_numpy().astype(np.uint8)
    if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
        low = s.astype(str).str.strip().str.lower()
        truthy, falsy = {"1", "true", "yes", "y", "t"}, {"0", "false", "no", "n", "f"}
        bad = ~(low.isin(truthy) | low.isin(falsy)).to_numpy()
        if bad.any():
            i = int(np.argmax(bad))
            fail(f"column '{col}' (label {name}): value '{s.iloc[i]}' at row {i} is not 0/1; give NAME=COL:POSITIVE")
        return name, col, low.isin(truthy).to_numpy().astype(np.uint8)
    v = s.to_numpy(dtype=float)
    bad = ~np.isin(v, [0.0, 1.0])
    if bad.any():
        i = int(np.argmax(bad))
        fail(f"column '{col}' (label {name}): value {v[i]!r} at row {i} is not 0/1; give NAME=COL:POSITIVE")
    return name, col, v.astype(np.uint8)


def encode_features(df, categorical, max_categories):
    import numpy as np
    import pandas as pd
    names, cols = [], []
    for c in df.columns:
        s = df[c]
        if c in categorical or s.dtype == object or isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(s.dtype):
            values = sorted(s.dropna().astype(str).unique())
            if len(values) > max_categories:
                fail(f"column '{c}': {len(values)} distinct values; one-hot needs <= {max_categories} "
                     f"(use --drop {c} or --max-categories)")
            st = s.astype(str).where(s.notna(), None)
            for v in values:
                names.append(f"{c}={v}")
                cols.append((st == v).to_numpy().astype(np.float32))
        elif s.dtype == bool:
            names.append(str(c))
            cols.append(s.to_numpy().astype(np.float32))
        elif pd.api.types.is_datetime64_any_dtype(s.dtype):
            names.append(str(c))
            days = (s - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400.0
            cols.append(days.to_numpy(dtype=np.float32, na_value=np.nan))
        elif pd.api.types.is_numeric_dtype(s.dtype):
            names.append(str(c))
            cols.append(pd.to_numeric(s).to_numpy(dtype=np.float32, na_value=np.nan))
        else:
            fail(f"column '{c}': unsupported type {s.dtype}")
    if not cols:
        fail("no feature columns left")
    return names, np.stack(cols, axis=1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", help="CSV/TSV (optionally .gz) or Parquet file")
    ap.add_argument("--out", required=True, help="output HDF5 file")
    ap.add_argument("--id", help="customer id column (integer, unique); default: row number")
    ap.add_argument("--label", action="append", default=[], metavar="NAME=COL[:POSITIVE]",
                    help="a target: NAME=COL, COL holding 0/1 (or true/false, yes/no), or the value meaning positive")
    ap.add_argument("--categorical", default="", help="comma-separated columns to one-hot even if numeric")
    ap.add_argument("--drop", default="", help="comma-separated columns to leave out")
    ap.add_argument("--max-categories", type=int, default=100, help="most distinct values a one-hot column may have")
    a = ap.parse_args(argv)

    import h5py
    import numpy as np

    df = read_table(a.input)
    if len(df) == 0:
        fail(f"{a.input}: no rows")
    used = set()
    for c in filter(None, a.drop.split(",")):
        if c not in df.columns:
            fail(f"--drop: no column '{c}'")
        used.add(c)
    if a.id:
        if a.id not in df.columns:
            fail(f"--id: no column '{a.id}'")
        s = df[a.id]
        if s.isna().any():
            fail(f"column '{a.id}' (id): missing value at row {int(np.argmax(s.isna().to_numpy()))}")
        try:
            ids = s.to_numpy().astype(np.int64)
            if not np.array_equal(ids, s.to_numpy()):
                raise ValueError
        except (ValueError, TypeError):
            fail(f"column '{a.id}' (id): values must be integers")
        dup = s.duplicated().to_numpy()
        if dup.any():
            fail(f"column '{a.id}' (id): duplicate id {ids[int(np.argmax(dup))]} at row {int(np.argmax(dup))}")
        used.add(a.id)
    else:
        ids = np.arange(len(df), dtype=np.int64)
    labels = {}
    for spec in a.label:
        name, col, y = parse_label(spec, df)
        if name in labels:
            fail(f"--label: '{name}' given twice")
        labels[name] = y
        used.add(col)
    categorical = set(filter(None, a.categorical.split(",")))
    for c in categorical:
        if c not in df.columns:
            fail(f"--categorical: no column '{c}'")
    names, X = encode_features(df[[c for c in df.columns if c not in used]], categorical, a.max_categories)

    n, f = X.shape
    chunk_rows = max(1, min(n, (4 << 20) // (4 * f)))
    tmp = f"{a.out}.tmp-{os.getpid()}"
    try:
        with h5py.File(tmp, "w", libver=("earliest", "latest")) as h:
            h.attrs["schema_version"] = np.int64(SCHEMA_VERSION)
            h.attrs["kind"] = "features"
            h.attrs["generator"] = "scripts/to_hdf5.py"
            h.attrs["source"] = os.path.abspath(a.input)
            h.create_dataset("features", data=X, dtype="<f4", chunks=(chunk_rows, f))
            h.create_dataset("customer_id", data=ids, dtype="<i8", chunks=(min(n, 1 << 20),))
            width = max(1, max(len(s.encode()) for s in names)) + 1
            h.create_dataset("feature_names", data=np.array([s.encode() for s in names], dtype=f"S{width}"))
            g = h.create_group("labels")
            for k, y in labels.items():
                g.create_dataset(k, data=y, dtype="u1", chunks=(min(n, 1 << 20),))
        os.replace(tmp, a.out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    rates = ", ".join(f"{k} {y.mean():.4f}" for k, y in labels.items())
    print(f"to_hdf5: wrote {a.out}: {n} rows x {f} features" + (f"; label rates: {rates}" if labels else ""))


if __name__ == "__main__":
    main()
