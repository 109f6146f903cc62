#!/usr/bin/env python3
"""compare_outputs.py: compare the outputs of two runs of the cases of
scripts/compare_outputs.sh, one line per case: `same` or `DIFFERS: <first
difference>`. Exit 1 if any case differs.
  usage: compare_outputs.py OLD_DIR NEW_DIR [--prefix TEXT]
A case NAME's outputs are the files NAME.*: NAME.rc (exit status), NAME.out
(stdout: parsed as JSON when it is JSON, else text with durations masked),
NAME.log (stderr: its `propscore` lines, only when the case failed), *.h5
(h5dump text, floats to 17 digits), *.manifest.json (parsed JSON, key order
ignored), others byte for byte. Masked: each run folder's absolute path
(-> @RUN), the HDF5 attributes and JSON fields below that hold clocks, run ids,
durations and memory sizes of the machine."""
import json
import os
import re
import subprocess
import sys

INPUTS = {"d.h5", "u.h5", "key", "d.rc", "d.out", "d.log", "u.rc", "u.out", "u.log"}
# HDF5 attributes: a wall-clock timestamp, the input file's mtime
H5_MASKED = {"created", "input_mtime", "uplift_run_id"}
# JSON fields (at any depth): run id, clocks, durations, file mtimes, the
# default host memory limit (a share of the memory free at the time), a file's
# creation time (eval's scores_created)
JSON_DROPPED = {"run_id", "started", "finished", "wall_s", "phases_s", "mtime", "created", "scores_created",
                "host_mem_limit"}
# durations and rates in the progress lines on stdout ("in 0.23 s (272538 rows/s, 0.01 GB/s")
TIMING = re.compile(r"\b\d+(\.\d+)?(e[-+]?\d+)?( s\b| ms\b| rows/s| GB/s| MB/s)")


def h5_text(path, run_dir):
    p = subprocess.run(["h5dump", "-m", "%.17g", os.path.basename(path)], cwd=os.path.dirname(path),
                       capture_output=True, text=True, errors="backslashreplace")
    if p.returncode != 0:
        return [f"h5dump failed: {p.stderr.strip()}"]
    out, depth, masked_at = [], 0, None
    for line in p.stdout.replace(run_dir, "@RUN").splitlines():
        s = line.strip()
        if masked_at is None and s.startswith("ATTRIBUTE \"") and s.split('"')[1] in H5_MASKED:
            masked_at = depth
            out.append(line + " <masked>")
        elif masked_at is None:
            out.append(line)
        depth += s.count("{") - s.count("}")
        if masked_at is not None and depth <= masked_at:
            masked_at = None
    return out


def scrub(v, run_dir):
    if isinstance(v, dict):
        # a manifest's file entry: the CRC of a file a case wrote holds its timestamp
        own = "crc32" in v and os.path.basename(str(v.get("path"))) not in INPUTS
        return {k: scrub(x, run_dir) for k, x in v.items() if k not in JSON_DROPPED and not (own and k == "crc32")}
    if isinstance(v, list):
        return [scrub(x, run_dir) for x in v]
    if isinstance(v, str):
        return v.replace(run_dir, "@RUN")
    return v


def json_diff(a, b, where="$"):
    """The first difference of two parsed JSON values (None if equal); key order ignored."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{where}.{k}: {'missing' if k not in a else 'present'} in old, " \
                       f"{'missing' if k not in b else 'present'} in new"
            d = json_diff(a[k], b[k], f"{where}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            d = json_diff(x, y, f"{where}[{i}]")
            if d:
                return d
        return None if len(a) == len(b) else f"{where}: length {len(a)} vs {len(b)}"
    if type(a) is type(b) and repr(a) == repr(b):
        return None
    return f"{where}: {short(json.dumps(a))} vs {short(json.dumps(b))}"


def short(s, n=90):
    return s if len(s) <= n else s[:n] + "..."


def load_json(path, run_dir):
    with open(path, errors="backslashreplace") as f:
        text = f.read()
    try:
        return scrub(json.loads(text), run_dir), True
    except ValueError:
        return TIMING.sub(r"<t>\3", text.replace(run_dir, "@RUN")).splitlines(), False


def propscore_lines(path, run_dir):
    with open(path, errors="backslashreplace") as f:
        return [l for l in f.read().replace(run_dir, "@RUN").splitlines() if l.startswith("propscore")]


def lines_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"line {i + 1}: {short(x.strip())!r} vs {short(y.strip())!r}"
    return None if len(a) == len(b) else f"{len(a)} vs {len(b)} lines"


def file_diff(name, old_dir, new_dir):
    po, pn = os.path.join(old_dir, name), os.path.join(new_dir, name)
    if name.endswith(".h5"):
        return lines_diff(h5_text(po, old_dir), h5_text(pn, new_dir))
    if name.endswith(".log"):  # a failed case's stderr: its propscore lines, not mpirun's
        return lines_diff(propscore_lines(po, old_dir), propscore_lines(pn, new_dir))
    if name.endswith(".json") or name.endswith(".out"):
        (a, ja), (b, jb) = load_json(po, old_dir), load_json(pn, new_dir)
        if ja and jb:
            return json_diff(a, b)
        return lines_diff(a, b) if not ja and not jb else "JSON in one, not in the other"
    with open(po, "rb") as f, open(pn, "rb") as g:
        a, b = f.read(), g.read()
    if a == b:
        return None
    at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"bytes differ at offset {at} (sizes {len(a)}, {len(b)})"


def cases(old_dir, new_dir):
    """Case names in the order they ran, and each case's files (old's and new's)."""
    files = {}
    for side, d in (("old", old_dir), ("new", new_dir)):
        for n in os.listdir(d):
            if n not in INPUTS and not os.path.isdir(os.path.join(d, n)):
                files.setdefault(n.split(".")[0], {}).setdefault(n, set()).add(side)
    order = sorted(files, key=lambda c: os.path.getmtime(os.path.join(old_dir, c + ".rc"))
                   if os.path.exists(os.path.join(old_dir, c + ".rc")) else float("inf"))
    return order, files


def read_rc(d, case):
    p = os.path.join(d, case + ".rc")
    if not os.path.exists(p):
        return "?"
    with open(p) as f:
        return f.read().strip()


def case_diff(name, files, old_dir, new_dir):
    for n in sorted(files):
        if len(files[n]) == 1:
            return f"{n} only in {next(iter(files[n]))}"
    rc = read_rc(old_dir, name)
    for n in sorted(files, key=lambda n: (not n.endswith(".rc"), n)):
        if n.endswith(".log") and rc == "0":
            continue
        d = file_diff(n, old_dir, new_dir)
        if d:
            return f"{n}: {d}"
    return None


def main():
    args = sys.argv[1:]
    prefix = ""
    if "--prefix" in args:
        i = args.index("--prefix")
        prefix = args[i + 1]
        del args[i:i + 2]
    old_dir, new_dir = (os.path.realpath(a) for a in args)
    order, files = cases(old_dir, new_dir)
    differs = 0
    for c in order:
        d = case_diff(c, files[c], old_dir, new_dir)
        rc = read_rc(old_dir, c)
        print(f"{prefix}{c:<14} {'same' if d is None else 'DIFFERS: ' + d}" + (f"  (exit {rc})" if rc != "0" else ""))
        differs += d is not None
    return 1 if differs else 0


if __name__ == "__main__":
    sys.exit(main())
