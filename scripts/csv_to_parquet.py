#!/usr/bin/env python3
"""csv_to_parquet.py IN.csv OUT.parquet: the Parquet writer of `propscore
export` (called by it for .parquet outputs only): pseudo_id as a string,
score as float64 (the CSV holds it with 17 significant digits: exact); with
export --explain, reason_K as strings (feature names) and contribution_K as
float64 (float32 values, exact)."""
import sys

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq


def main(argv):
    if len(argv) != 3:
        print("usage: csv_to_parquet.py IN.csv OUT.parquet", file=sys.stderr)
        return 2
    with open(argv[1], newline="") as f:
        header = f.readline().rstrip("\r\n").split(",")
    types = {"pseudo_id": pa.string(), "score": pa.float64()}
    types.update({c: pa.string() for c in header if c.startswith("reason_")})
    types.update({c: pa.float64() for c in header if c.startswith("contribution_")})
    conv = pcsv.ConvertOptions(column_types=types)
    table = pcsv.read_csv(argv[1], convert_options=conv)
    pq.write_table(table, argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
