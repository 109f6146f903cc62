#!/usr/bin/env python3
r"""to_hdf5.py: import a CSV or Parquet table into propscore's input schema
(datasets/SCHEMA.md): /features float32 [N,F], /customer_id int64 [N],
/feature_names [F], /labels/<name> uint8 [N].

  scripts/to_hdf5.py customers.csv --out customers.h5 --id customer_id \
      --label purchase_3m=bought_within_90d --label churn=status:churned

Numeric columns, and text columns all of whose cells are numbers, become
features as they are (missing -> NaN); booleans 0/1 (missing -> NaN);
datetimes become days since 1970-01-01. A column is one-hot encoded as
"col=value" (missing -> all zeros) when it is named in --categorical or when
none of its cells is a number; with --categories codes such a column is
instead one feature of integer codes 0..C-1 (the sorted distinct values;
missing -> NaN, C <= 255), its names kept in /categorical (the trees split
on sets of categories, datasets/SCHEMA.md). A text column whose cells are partly numbers
(e.g. "12,5" or "unknown" among numbers) is an error naming the column and
the first row that is not a number: give --categorical COL, --drop COL, or
--na-values for the strings that mean missing (pandas' defaults such as "",
"NA", "n/a", "NULL" already are). Errors about ids and feature columns name
the row (and CSV line), never the cell's value; so do label errors. Feature
names must be unique (a one-hot "color=red" next to a column "color=red" is
an error), numbers must fit float32 (1e39 is an error, not inf), ids must
be integers of at most 64 bits, and a label name is not "." or ".." and has
no "/", "," or "=".

--merge FILE adds the numeric columns of another table, such as the emb_*
columns of scripts/embed_text.py, as features. The rule: when FILE has a
column named as --id, its rows join the customers on that id (a customer
FILE lacks gets missing values, imputed later; ids FILE has that the table
lacks are counted and left out; a repeated id is an error); otherwise FILE
joins by row order and must have exactly as many rows as the table. Its
cells must be numbers or empty; its column names must be new.

The output is written to a new temporary file beside it (mode 0600, created
exclusively), synced, made mode 0640 and renamed when complete; on an error
or SIGTERM the temporary file is removed. --out must not be the input (by any
path) nor an existing directory or non-regular file. Exit status: 0 done,
1 bad input, 2 bad command line.

Sparse inputs are written as CSR (/features_csr, datasets/SCHEMA.md "CSR
layout"; --dense writes them as /features instead):

  --long CUST,ATTR,VALUE   the input is a long table (CSV/Parquet), one row a
      (customer, attribute, value); attributes become columns named by their
      values, sorted; a (customer, attribute) pair given twice is an error
      naming both rows; zeros are not stored
  FILE.npz                 a scipy.sparse matrix (save_npz); columns f0, f1, ...
  --svmlight               libsvm/svmlight text ("y idx:val ..."; indices from
      1 unless --zero-based; columns f<idx>); its y is the column "label" of
      the customers (--label buy=label)
  --customers FILE         one row a customer: the --id column (for --long its
      order is the rows' order and every customer of the long table must be
      in it; for the others it joins by row order), the --label columns, and
      the rest as dense columns 0..Fd-1 before the sparse ones (--drop,
      --categorical apply); without it --long takes the sorted distinct ids
  --sparse                 a wide table written as CSR (zeros not stored)
"""
import argparse
import os
import secrets
import signal
import stat
import sys

SCHEMA_VERSION = 1


class Terminated(BaseException):
    """Raised by the SIGTERM handler, so that cleanup code runs."""


def fail(msg):
    print(f"to_hdf5: error: {msg}", file=sys.stderr)
    sys.exit(1)


def is_csv(path):
    return path.lower().endswith((".csv", ".csv.gz", ".txt", ".tsv"))


def csv_lines(path, rows):
    """{row: 1-based line where data row ROW (0-based) starts}, counted as pandas
    reads the file: blank lines skipped, quoted cells may span lines."""
    import csv
    import gzip
    want, found = set(rows), {}
    csv.field_size_limit(sys.maxsize)
    try:
        with (gzip.open if path.lower().endswith(".gz") else open)(path, "rt", newline="", errors="replace") as f:
            r = csv.reader(f, delimiter="\t" if path.lower().endswith(".tsv") else ",")
            start, k = 1, -1  # k: data row of the next record (the header is -1)
            for rec in r:
                if rec and not (len(rec) == 1 and rec[0] and not rec[0].strip()):
                    if k in want:
                        found[k] = start
                        if len(found) == len(want):
                            break
                    k += 1
                start = r.line_num + 1
    except (OSError, csv.Error, EOFError):
        pass
    return found


def at_rows(path, *rows):
    """'row 3 (line 5)' or 'rows 0 and 3 (lines 2 and 5)': data rows, with CSV lines."""
    lines = csv_lines(path, rows) if is_csv(path) else {}
    text = f"row{'s' if len(rows) > 1 else ''} {' and '.join(map(str, rows))}"
    if len(lines) == len(rows):
        text += f" (line{'s' if len(rows) > 1 else ''} {' and '.join(str(lines[i]) for i in rows)})"
    return text


def check_paths(inp, out):
    """Refuse, before any work, an input that is not a regular file and an --out
    that is the input (by any path), a directory or another non-regular file."""
    try:
        si = os.stat(inp)
    except FileNotFoundError:
        fail(f"{inp}: no such file")
    except OSError as e:
        fail(f"{inp}: cannot stat: {e.strerror}")
    if not stat.S_ISREG(si.st_mode):
        fail(f"{inp}: not a regular file")
    try:
        so = os.stat(out)
    except FileNotFoundError:
        so = None
    except OSError as e:
        fail(f"{out}: cannot stat: {e.strerror}")
    if so is not None and stat.S_ISDIR(so.st_mode):
        fail(f"{out}: --out is a directory; give a file name")
    if so is not None and not stat.S_ISREG(so.st_mode):
        fail(f"{out}: --out exists and is not a regular file")
    if os.path.realpath(out) == os.path.realpath(inp) or (
            so is not None and (so.st_dev, so.st_ino) == (si.st_dev, si.st_ino)):
        fail(f"{out}: --out is the input file {inp}; give another name")
    d = os.path.dirname(out) or "."
    if not os.path.isdir(d):
        fail(f"{out}: no directory {d}")


def read_table(path, na_values):
    import pandas as pd
    try:
        if path.lower().endswith((".parquet", ".pq")):
            df = pd.read_parquet(path)
            for c in df.columns:  # Parquet has real nulls; apply --na-values to text columns
                s = df[c]
                if na_values and (s.dtype == object or pd.api.types.is_string_dtype(s.dtype)):
                    df[c] = s.mask(s.notna() & s.astype(str).isin(na_values))
            return df
        if is_csv(path):
            return pd.read_csv(path, sep="\t" if path.lower().endswith(".tsv") else ",", low_memory=False,
                               na_values=na_values or None)
    except Exception as e:  # pandas/pyarrow raise many types; report them in one line
        fail(f"{path}: cannot read: {str(e).splitlines()[0]}")
    fail(f"{path}: unknown table format (use .csv, .tsv or .parquet)")


def parse_label(spec, df, path, id_col=None):
    """NAME=COL[:POSITIVE] -> (name, 0/1 uint8 array). Errors name the row, never the cell."""
    import numpy as np
    import pandas as pd
    if "=" not in spec:
        fail(f"--label {spec}: expected NAME=COL[:POSITIVE]")
    name, rest = spec.split("=", 1)
    col, pos = (rest.split(":", 1) + [None])[:2] if ":" in rest else (rest, None)
    if name in ("", ".", "..") or any(ch in name for ch in "/,=") or not name.isprintable():
        fail(f"--label {spec}: bad label name '{name}' (a dataset /labels/NAME and a --targets entry: not . or .., "
             "no '/', ',', '=' or control characters)")
    if col not in df.columns:
        fail(f"{path}: --label {spec}: no column '{col}' (columns: {', '.join(map(str, df.columns[:20]))})")
    if col == id_col:
        fail(f"{path}: --label {spec}: column '{col}' is the --id column; a label is another column")
    s = df[col]
    missing = s.isna().to_numpy()
    if missing.any():
        fail(f"{path}: column '{col}' (label {name}): missing value at {at_rows(path, int(np.argmax(missing)))}")
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
            fail(f"{path}: column '{col}' (label {name}): the value at {at_rows(path, i)} is not 0/1 (nor "
                 "true/false, yes/no); give NAME=COL:POSITIVE")
        return name, col, low.isin(truthy).to_numpy().astype(np.uint8)
    v = s.to_numpy(dtype=float)
    bad = ~np.isin(v, [0.0, 1.0])
    if bad.any():
        i = int(np.argmax(bad))
        fail(f"{path}: column '{col}' (label {name}): the value at {at_rows(path, i)} is not 0/1; "
             "give NAME=COL:POSITIVE")
    return name, col, v.astype(np.uint8)


def parse_ids(s, path, col):
    """The id column as int64; the first row that is not an integer in int64's range is an
    error naming the row, never the id."""
    import numpy as np
    hi = 1 << 63
    v = s.to_numpy()
    if v.dtype.kind == "i" or (v.dtype.kind == "u" and (len(v) == 0 or int(v.max()) < hi)):
        return v.astype(np.int64)
    if v.dtype.kind == "f":
        bad = ~(np.isfinite(v) & (v == np.floor(v)) & (v >= -hi) & (v < hi))
    else:  # uint64 beyond int64, or text (CSV cells beyond 64 bits): one by one
        def fits(x):
            try:
                return -hi <= int(x) < hi and (not isinstance(x, float) or x == int(x))
            except (ValueError, TypeError, OverflowError):
                return False
        bad = np.array([not fits(x) for x in v], dtype=bool)
    if bad.any():
        fail(f"{path}: column '{col}' (id): the value at {at_rows(path, int(np.argmax(bad)))} is not an integer "
             "of at most 64 bits (-2^63 .. 2^63-1)")
    return np.array([int(x) for x in v], dtype=np.int64)


def to_float32(v, path, what):
    """Float64 values as float32; a finite value beyond float32's range (it would become inf) is
    an error naming the row, never the value."""
    import numpy as np
    v = np.asarray(v, dtype=np.float64)
    big = np.isfinite(v) & (np.abs(v) > np.finfo(np.float32).max)
    if big.any():
        fail(f"{path}: {what}: the value at {at_rows(path, int(np.argmax(big)))} is beyond float32's range "
             "(|x| > 3.4e38)")
    return v.astype(np.float32)


def check_unique(names, sources, path):
    """Feature names must be unique (propscore maps columns by name): a one-hot 'color=red'
    next to a column named 'color=red' is an error naming both columns."""
    first = {}
    for name, src in zip(names, sources):
        if name in first:
            fail(f"{path}: feature '{name}' would come from both {first[name]} and {src}; "
                 "rename or --drop one of them")
        first[name] = src


def encode_features(df, categorical, max_categories, path, codes=False):
    """(names, X [n, F] float32, {column index: category names} of --categories codes)."""
    import numpy as np
    import pandas as pd
    names, cols, sources, cats = [], [], [], {}  # sources: where each name comes from, for check_unique
    for c in df.columns:
        s = df[c]
        text = s.dtype == object or pd.api.types.is_string_dtype(s.dtype)
        if text and c not in categorical:  # decide by parsing: numbers, text, or a mix (an error)
            num = pd.to_numeric(s, errors="coerce")
            bad = (s.notna() & num.isna()).to_numpy()
            if bad.any() and num.notna().any():
                fail(f"{path}: column '{c}': {int(bad.sum())} of {int(s.notna().sum())} values are not numbers, "
                     f"first at {at_rows(path, int(np.argmax(bad)))}; give --categorical {c} to one-hot it, "
                     f"--drop {c}, or --na-values for the strings that mean missing")
            if not bad.any() and num.notna().any():
                s, text = num, False
        if c in categorical or text or isinstance(s.dtype, pd.CategoricalDtype):
            values = sorted(s.dropna().astype(str).unique())
            st = s.astype(str).where(s.notna(), None)
            if codes:  # one column of codes 0..C-1 (NaN: missing), the names in /categorical
                if not 1 <= len(values) <= 255:
                    fail(f"{path}: column '{c}': {len(values)} distinct values; --categories codes needs 1..255 "
                         f"(use --drop {c} or --categories onehot)")
                cats[len(cols)] = values
                names.append(str(c))
                sources.append(f"the codes of column '{c}'")
                cols.append(st.map({v: i for i, v in enumerate(values)}).to_numpy(dtype=np.float32, na_value=np.nan))
                continue
            if len(values) > max_categories:
                fail(f"{path}: column '{c}': {len(values)} distinct values; one-hot needs <= {max_categories} "
                     f"(use --drop {c} or --max-categories)")
            for v in values:
                names.append(f"{c}={v}")
                sources.append(f"the one-hot of column '{c}'")
                cols.append((st == v).to_numpy().astype(np.float32))
        elif s.dtype == bool:
            names.append(str(c))
            sources.append(f"column '{c}'")
            cols.append(s.to_numpy().astype(np.float32))
        elif pd.api.types.is_datetime64_any_dtype(s.dtype):
            names.append(str(c))
            sources.append(f"column '{c}'")
            days = (s - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400.0
            cols.append(days.to_numpy(dtype=np.float32, na_value=np.nan))
        elif pd.api.types.is_numeric_dtype(s.dtype):
            names.append(str(c))
            sources.append(f"column '{c}'")
            cols.append(to_float32(pd.to_numeric(s).to_numpy(dtype=np.float64, na_value=np.nan), path,
                                   f"column '{c}'"))
        else:
            fail(f"{path}: column '{c}': unsupported type {s.dtype}")
    if not cols:
        fail(f"{path}: no feature columns left")
    check_unique(names, sources, path)
    return names, np.stack(cols, axis=1), cats


def merge_columns(path, ids, id_col, n, names, na_values):
    """Numeric columns of PATH joined on ID_COL (or by row order): (names, [n, m] float32)."""
    import numpy as np
    import pandas as pd
    m = read_table(path, na_values)
    by_id = id_col is not None and id_col in m.columns
    if not by_id and len(m) != n:
        how = f"no column '{id_col}' to join on, so it joins by row order" if id_col else "it joins by row order (no --id)"
        fail(f"{path}: --merge: {how}, but it has {len(m)} rows and the table {n}")
    cols = [c for c in m.columns if not (by_id and c == id_col)]
    if not cols:
        fail(f"{path}: --merge: no columns besides the id")
    for c in cols:
        if str(c) in names:
            fail(f"{path}: --merge: column '{c}' is already a feature; rename it")
    V = np.empty((len(m), len(cols)), dtype=np.float32)
    for j, c in enumerate(cols):
        s = m[c]
        num = pd.to_numeric(s, errors="coerce")
        bad = (s.notna() & num.isna()).to_numpy()
        if bad.any():
            fail(f"{path}: --merge: column '{c}': not a number at {at_rows(path, int(np.argmax(bad)))}")
        V[:, j] = to_float32(num.to_numpy(dtype=np.float64, na_value=np.nan), path, f"--merge: column '{c}'")
    if not by_id:
        return [str(c) for c in cols], V, f"{len(cols)} columns by row order"
    s = m[id_col]
    num = pd.to_numeric(s, errors="coerce")
    bad = (num.isna() | (num != np.floor(num))).to_numpy()
    if bad.any():
        fail(f"{path}: --merge: column '{id_col}' (id): not an integer at {at_rows(path, int(np.argmax(bad)))}")
    mid = num.to_numpy().astype(np.int64)
    dup = pd.Series(mid).duplicated().to_numpy()
    if dup.any():
        j = int(np.argmax(dup))
        i = int(np.flatnonzero(mid == mid[j])[0])
        fail(f"{path}: --merge: column '{id_col}' (id): {at_rows(path, i, j)} hold the same id")
    order = np.argsort(mid, kind="stable")
    pos = np.searchsorted(mid[order], ids)
    pos[pos == len(mid)] = 0
    hit = mid[order][pos] == ids
    out = np.full((n, len(cols)), np.nan, dtype=np.float32)
    out[hit] = V[order[pos[hit]]]
    extra = len(mid) - int(hit.sum())
    return [str(c) for c in cols], out, (f"{len(cols)} columns for {int(hit.sum())} of {n} customers by "
                                         f"'{id_col}'" + (f"; {extra} ids not in the table left out" if extra else ""))


def write_atomic(out, write):
    """Call write(tmp) on a new file beside OUT, created exclusively (mode 0600,
    never through a symlink), then fsync, chmod 0640 and rename it to OUT.
    The temporary file is removed on any failure, KeyboardInterrupt and SIGTERM."""
    tmp = f"{out}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as e:
        fail(f"{out}: cannot create temporary file {tmp}: {e.strerror}")
    try:
        try:
            write(tmp)
            a, b = os.fstat(fd), os.lstat(tmp)
            if (a.st_dev, a.st_ino) != (b.st_dev, b.st_ino):
                fail(f"{out}: temporary file {tmp} was replaced while writing")
            os.fchmod(fd, 0o640)
            os.fsync(fd)
            os.replace(tmp, out)
        except OSError as e:
            fail(f"{out}: cannot write: {e.strerror or str(e).splitlines()[0]}")
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    finally:
        os.close(fd)
    dfd = os.open(os.path.dirname(out) or ".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


# --- sparse inputs, written as CSR (datasets/SCHEMA.md "CSR layout") ---

def read_long(path, spec, na_values):
    """--long CUST,ATTR,VALUE: (ids [nnz] int64, attribute names [nnz] str, values [nnz] float32)."""
    import numpy as np
    import pandas as pd
    cols = spec.split(",")
    if len(cols) != 3:
        fail(f"--long {spec}: expected CUST,ATTR,VALUE (three column names)")
    df = read_table(path, na_values)
    for c in cols:
        if c not in df.columns:
            fail(f"{path}: --long: no column '{c}'")
    cust, attr, val = (df[c] for c in cols)
    miss = (cust.isna() | attr.isna()).to_numpy()
    if miss.any():
        fail(f"{path}: --long: missing customer or attribute at {at_rows(path, int(np.argmax(miss)))}")
    num = pd.to_numeric(val, errors="coerce")
    bad = (val.notna() & num.isna()).to_numpy()
    if bad.any():
        fail(f"{path}: --long: column '{cols[2]}' (value): not a number at {at_rows(path, int(np.argmax(bad)))}")
    ids = parse_ids(cust, path, cols[0])
    v = to_float32(num.to_numpy(dtype=np.float64, na_value=np.nan), path, f"column '{cols[2]}'")
    return ids, attr.astype(str).to_numpy(), v


def long_to_csr(path, ids, attrs, vals, order):
    """The long table's triples as CSR rows in ORDER (customer ids) and sorted attribute columns."""
    import numpy as np
    import scipy.sparse as sp
    names, col = np.unique(attrs, return_inverse=True)
    pos = {int(c): i for i, c in enumerate(order)}
    row = np.array([pos.get(int(c), -1) for c in ids], dtype=np.int64)
    if (row < 0).any():
        j = int(np.argmax(row < 0))
        fail(f"{path}: --long: {int((row < 0).sum())} row(s) name a customer not in --customers; the first at "
             f"{at_rows(path, j)}")
    key = row * len(names) + col
    o = np.argsort(key, kind="stable")
    dup = np.flatnonzero(key[o][1:] == key[o][:-1])
    if len(dup):
        i, j = sorted((int(o[dup[0]]), int(o[dup[0] + 1])))
        fail(f"{path}: --long: {at_rows(path, i, j)} give the same customer and attribute")
    M = sp.csr_matrix((vals, (row, col)), shape=(len(order), len(names)), dtype=np.float32)
    return [str(x) for x in names], M


def read_sparse_matrix(path, svmlight, zero_based):
    """A .npz (scipy.sparse.save_npz) or svmlight file: (names, CSR float32, svmlight y or None)."""
    import numpy as np
    import scipy.sparse as sp
    try:
        if svmlight:
            from sklearn.datasets import load_svmlight_file
            M, y = load_svmlight_file(path, dtype=np.float32, zero_based=zero_based)
            first = 0 if zero_based else 1
            return [f"f{j + first}" for j in range(M.shape[1])], sp.csr_matrix(M), y
        M = sp.load_npz(path).tocsr().astype(np.float32)
    except Exception as e:
        fail(f"{path}: cannot read: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
    M.sort_indices()
    rows = np.repeat(np.arange(M.shape[0]), np.diff(M.indptr))
    dup = np.flatnonzero((M.indices[1:] == M.indices[:-1]) & (rows[1:] == rows[:-1]))
    if len(dup):
        fail(f"{path}: row {int(rows[dup[0]])}: column {int(M.indices[dup[0]])} is given twice")
    return [f"f{j}" for j in range(M.shape[1])], M, None


def sparse_customers(a, n, extra):
    """--customers: (ids or None, labels, dense names, dense [n, Fd]); EXTRA: more columns (svmlight's label)."""
    import numpy as np
    import pandas as pd
    df = read_table(a.customers, [v for v in a.na_values.split(",") if v]) if a.customers else pd.DataFrame(index=range(n))
    if n is not None and len(df) != n:
        fail(f"{a.customers}: --customers joins by row order but has {len(df)} rows and the matrix {n}")
    for k, v in extra.items():
        if k in df.columns:
            fail(f"{a.customers}: --customers has a column '{k}', the name of the svmlight file's y")
        df[k] = v
    used, ids = set(extra), None
    if a.id:
        if a.id not in df.columns:
            fail(f"{a.customers or a.input}: --id: no column '{a.id}'")
        ids = parse_ids(df[a.id], a.customers, a.id)
        if len(np.unique(ids)) != len(ids):
            fail(f"{a.customers}: column '{a.id}' (id): an id is repeated")
        used.add(a.id)
    labels = {}
    for spec in a.label:
        name, col, y = parse_label(spec, df, a.customers or a.input, a.id)
        if name in labels:
            fail(f"--label: '{name}' given twice")
        labels[name] = y
        used.add(col)
    used |= set(filter(None, a.drop.split(",")))
    rest = df[[c for c in df.columns if c not in used]]
    if a.categories == "codes":
        fail("--categories codes is for dense files (a CSR file has no /categorical): leave it out with --customers")
    names, X, _ = encode_features(rest, set(filter(None, a.categorical.split(","))), a.max_categories,
                                  a.customers) if len(rest.columns) else ([], np.zeros((len(df), 0), np.float32), {})
    return ids, labels, names, X


def write_csr(h, M):
    """/features_csr of CSR matrix M: chunked, gzip-compressed."""
    import numpy as np
    g = h.create_group("features_csr")
    for name, v, t in (("indptr", M.indptr, "<i8"), ("indices", M.indices, "<i4"), ("data", M.data, "<f4")):
        g.create_dataset(name, data=np.asarray(v), dtype=t, chunks=(max(1, min(len(v), 1 << 20)),),
                         compression="gzip", compression_opts=4)


def main_sparse(a, df=None):
    """--long, .npz, --svmlight or --sparse: the customers' CSR rows (their dense columns first)."""
    import h5py
    import numpy as np
    import scipy.sparse as sp
    y = None
    if a.long:
        lids, lattrs, lvals = read_long(a.input, a.long, [v for v in a.na_values.split(",") if v])
        if a.customers and not a.id:
            fail("--long --customers: give --id, the customers' id column")
        ids, labels, dn, Xd = sparse_customers(a, None, {}) if a.customers else (None, {}, [], None)
        if ids is None:
            ids = np.unique(lids)
            Xd = np.zeros((len(ids), 0), np.float32)
        names, S = long_to_csr(a.input, lids, lattrs, lvals, ids)
    else:
        names, S, y = read_sparse_matrix(a.input, a.svmlight, a.zero_based)
        ids, labels, dn, Xd = sparse_customers(a, S.shape[0], {"label": y} if y is not None else {})
        if ids is None:
            ids = np.arange(S.shape[0], dtype=np.int64)
    check_unique(dn + names, ["--customers"] * len(dn) + [a.input] * len(names), a.input)
    M = sp.hstack([sp.csr_matrix(Xd), S], format="csr", dtype=np.float32)
    M.eliminate_zeros()
    M.sort_indices()
    write_output(a, ids, dn + names, labels, M)


def write_output(a, ids, names, labels, M):
    import h5py
    import numpy as np
    n, f = M.shape
    if f == 0:
        fail(f"{a.input}: no feature columns")

    def write(tmp):
        with h5py.File(tmp, "w", libver=("earliest", "latest")) as h:
            h.attrs["schema_version"] = np.int64(SCHEMA_VERSION)
            h.attrs["kind"] = "features"
            h.attrs["generator"] = "scripts/to_hdf5.py"
            h.attrs["source"] = os.path.abspath(a.input)
            if a.dense:
                h.create_dataset("features", data=M.toarray(), dtype="<f4",
                                 chunks=(max(1, min(n, (4 << 20) // (4 * f))), f))
            else:
                write_csr(h, M)
            h.create_dataset("customer_id", data=ids, dtype="<i8", chunks=(max(1, min(n, 1 << 20)),))
            width = max(1, max(len(s.encode()) for s in names)) + 1
            h.create_dataset("feature_names", data=np.array([s.encode() for s in names], dtype=f"S{width}"))
            g = h.create_group("labels")
            for k, y in labels.items():
                g.create_dataset(k, data=y, dtype="u1", chunks=(max(1, min(n, 1 << 20)),))

    write_atomic(a.out, write)
    layout = "dense" if a.dense else f"CSR, {M.nnz} stored values (density {M.nnz / max(1, n * f):.4%})"
    print(f"to_hdf5: wrote {a.out}: {n} rows x {f} features, {layout}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", help="CSV/TSV (optionally .gz) or Parquet file")
    ap.add_argument("--out", required=True, help="output HDF5 file")
    ap.add_argument("--id", help="customer id column (integer, unique); default: row number")
    ap.add_argument("--label", action="append", default=[], metavar="NAME=COL[:POSITIVE]",
                    help="a target: NAME=COL, COL holding 0/1 (or true/false, yes/no), or the value meaning positive")
    ap.add_argument("--categorical", default="", help="comma-separated columns to treat as categories even if numeric")
    ap.add_argument("--categories", choices=("onehot", "codes"), default="onehot",
                    help="categorical columns as one-hot columns (default) or as one column of codes with the "
                         "category names in /categorical (the trees split on sets of categories)")
    ap.add_argument("--drop", default="", help="comma-separated columns to leave out")
    ap.add_argument("--na-values", default="", metavar="S1,S2",
                    help="comma-separated extra strings meaning missing, e.g. 'n/a,NULL,-' "
                         "(write --na-values=-,... when the first starts with '-')")
    ap.add_argument("--merge", action="append", default=[], metavar="FILE",
                    help="a CSV/Parquet of more numeric columns (e.g. embed_text.py's emb_*), joined on the --id "
                         "column when FILE has it, else by row order (see above)")
    ap.add_argument("--max-categories", type=int, default=100, help="most distinct values a one-hot column may have")
    ap.add_argument("--long", metavar="CUST,ATTR,VALUE", help="the input is a long table of these columns (CSR out)")
    ap.add_argument("--svmlight", action="store_true", help="the input is libsvm/svmlight text (CSR out)")
    ap.add_argument("--zero-based", action="store_true", help="svmlight column indices start at 0 (default 1)")
    ap.add_argument("--customers", metavar="FILE", help="sparse inputs: the customers' table (ids, labels, dense columns)")
    ap.add_argument("--sparse", action="store_true", help="write a wide table as CSR (zeros not stored)")
    ap.add_argument("--dense", action="store_true", help="write a sparse input as dense /features")
    a = ap.parse_args(argv)
    check_paths(a.input, a.out)
    for mf in a.merge + ([a.customers] if a.customers else []):
        check_paths(mf, a.out)
    if a.long or a.svmlight or a.input.lower().endswith(".npz"):
        if a.merge or a.sparse:
            fail("--merge and --sparse are for wide tables; sparse inputs take dense columns from --customers")
        return main_sparse(a)
    if a.customers or a.dense:
        fail("--customers and --dense are for sparse inputs (--long, --svmlight, .npz)")

    import h5py
    import numpy as np

    df = read_table(a.input, [v for v in a.na_values.split(",") if v])
    if len(df) == 0:
        fail(f"{a.input}: no rows")
    used = set()
    for c in filter(None, a.drop.split(",")):
        if c not in df.columns:
            fail(f"{a.input}: --drop: no column '{c}'")
        used.add(c)
    if a.id:
        if a.id not in df.columns:
            fail(f"{a.input}: --id: no column '{a.id}'")
        s = df[a.id]
        if s.isna().any():
            fail(f"{a.input}: column '{a.id}' (id): missing value at {at_rows(a.input, int(np.argmax(s.isna().to_numpy())))}")
        ids = parse_ids(s, a.input, a.id)
        dup = s.duplicated().to_numpy()
        if dup.any():  # name rows, never the id itself: ids are customer data
            j = int(np.argmax(dup))
            i = int(np.flatnonzero(ids == ids[j])[0])
            fail(f"{a.input}: column '{a.id}' (id): {int(dup.sum())} row(s) repeat an earlier id; "
                 f"the first: {at_rows(a.input, i, j)} hold the same id")
        used.add(a.id)
    else:
        ids = np.arange(len(df), dtype=np.int64)
    labels = {}
    for spec in a.label:
        name, col, y = parse_label(spec, df, a.input, a.id)
        if name in labels:
            fail(f"--label: '{name}' given twice")
        labels[name] = y
        used.add(col)
    categorical = set(filter(None, a.categorical.split(",")))
    for c in categorical:
        if c not in df.columns:
            fail(f"{a.input}: --categorical: no column '{c}'")
    names, X, cats = encode_features(df[[c for c in df.columns if c not in used]], categorical, a.max_categories,
                                     a.input, codes=a.categories == "codes")
    merged = []
    for mf in a.merge:
        mn, mX, how = merge_columns(mf, ids, a.id, len(ids), set(names), [v for v in a.na_values.split(",") if v])
        names, X = names + mn, np.concatenate([X, mX], axis=1)
        merged.append(f"merged {mf}: {how}")

    n, f = X.shape
    if a.sparse:
        import scipy.sparse as sp
        M = sp.csr_matrix(X)
        M.eliminate_zeros()
        for m in merged:
            print(f"to_hdf5: {m}")
        return write_output(a, ids, names, labels, M)
    chunk_rows = max(1, min(n, (4 << 20) // (4 * f)))

    def write(tmp):  # h5py opens the file write_atomic created: mode "w" truncates it
        with h5py.File(tmp, "w", libver=("earliest", "latest")) as h:
            h.attrs["schema_version"] = np.int64(SCHEMA_VERSION)
            h.attrs["kind"] = "features"
            h.attrs["generator"] = "scripts/to_hdf5.py"
            h.attrs["source"] = os.path.abspath(a.input)
            h.create_dataset("features", data=X, dtype="<f4", chunks=(chunk_rows, f))
            h.create_dataset("customer_id", data=ids, dtype="<i8", chunks=(min(n, 1 << 20),))
            width = max(1, max(len(s.encode()) for s in names)) + 1
            h.create_dataset("feature_names", data=np.array([s.encode() for s in names], dtype=f"S{width}"))
            if cats:  # datasets/SCHEMA.md: the categorical columns, their category counts and names
                cg = h.create_group("categorical")
                cols_ = sorted(cats)
                cg.create_dataset("columns", data=np.array(cols_, dtype=np.int64))
                cg.create_dataset("offsets", data=np.cumsum([0] + [len(cats[j]) for j in cols_]).astype(np.int64))
                flat = [v.encode() for j in cols_ for v in cats[j]]
                cg.create_dataset("names", data=np.array(flat, dtype=h5py.string_dtype("utf-8")))
            g = h.create_group("labels")
            for k, y in labels.items():
                g.create_dataset(k, data=y, dtype="u1", chunks=(min(n, 1 << 20),))

    write_atomic(a.out, write)
    rates = ", ".join(f"{k} {y.mean():.4f}" for k, y in labels.items())
    for m in merged:
        print(f"to_hdf5: {m}")
    print(f"to_hdf5: wrote {a.out}: {n} rows x {f} features" + (f"; label rates: {rates}" if labels else ""))


def on_sigterm(signum, frame):
    raise Terminated()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        main()
    except KeyboardInterrupt:
        print("to_hdf5: error: interrupted", file=sys.stderr)
        sys.exit(130)
    except Terminated:
        print("to_hdf5: error: terminated (SIGTERM)", file=sys.stderr)
        sys.exit(143)
    except Exception as e:  # a bug: one line, and not its message, which may quote cell values
        if os.environ.get("TO_HDF5_DEBUG"):
            raise
        print(f"to_hdf5: error: unexpected {type(e).__name__} (a bug in to_hdf5.py; please report it)", file=sys.stderr)
        sys.exit(1)
