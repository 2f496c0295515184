"""The rules over big files: each engine against a hand-written float function, in one run.

    .venv/bin/python benchmarks/scale.py [--rows 1000000 10000000] [--spark]

Writes seeded CSV and Parquet files of N patients (tests/engine/sql_rows.py), then times, each
in a fresh process so peak memory (ru_maxrss) is its own: the DuckDB engine (CSV→CSV,
Parquet→Parquet), the Python engine (CSV→CSV), a hand-written float function doing the same
CSV-to-CSV work, and Spark local on the first size. Prints rows/s, peak MiB and the ratios.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = r'''
import sys, time, json, resource
from pathlib import Path
sys.path.insert(0, sys.argv[4])
engine, src, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
from neutropenia_kb import evaluator_for
from neutropenia_kb import load
kb = load(Path(sys.argv[4]) / "rules")
evaluator_for(kb)
t = time.perf_counter()
if engine == "duckdb":
    from neutropenia_kb.engine.scale import run_duckdb
    run_duckdb(kb, src, out)
elif engine == "spark":
    from neutropenia_kb.engine.scale import run_spark
    run_spark(kb, src, out, master="local[2]")
elif engine == "python":
    from neutropenia_kb.engine import batch
    with src.open("rb") as s, out.open("w", newline="") as o:
        rows = batch.Rows(s, "csv", batch.accepted_columns(evaluator_for(kb)), src)
        batch.run(evaluator_for(kb), rows, o, "csv", rows.columns)
else:
    from benchmarks.scale import hand_written
    hand_written(src, out)
print(json.dumps({"seconds": time.perf_counter() - t,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''


def hand_written(src: Path, out: Path) -> None:
    """The same CSV-to-CSV work in plain floats: read and check each cell, decide severity and
    a fever, write every row. No exactness, no explanations: the speed to compare with."""
    def num(text: str, low: float, high: float, scale: dict[str, float]) -> float | None:
        text = text.strip()
        if not text:
            return None
        parts = text.split(None, 1)
        value = float(parts[0].replace(",", ""))
        if len(parts) > 1:
            value *= scale[parts[1]]
        if not low <= value <= high:
            raise ValueError(text)
        return value

    cells = {"": 1.0, "cells/uL": 1.0, "x10^9/L": 1000.0, "G/L": 1000.0}
    with src.open(newline="") as f, out.open("w", newline="") as o:
        reader, writer = csv.reader(f), csv.writer(o)
        header = next(reader)
        writer.writerow(["line", *header, "severity", "fever", "error"])
        at = {name: i for i, name in enumerate(header)}
        for line, row in enumerate(reader, start=2):
            try:
                anc = num(row[at["anc"]], 0, 100000, cells)
                temp = row[at["temperature"]].strip()
                t = None
                if temp:
                    t = float(temp.split()[0])
                    if temp.endswith("F"):
                        t = (t - 32) * 5 / 9
                sev = "unknown" if anc is None else "severe" if anc < 500 else \
                    "moderate" if anc < 1000 else "mild" if anc < 1500 else "normal"
                fever = "" if t is None else ("true" if t >= 38 else "false")
                writer.writerow([line, *row, sev, fever, ""])
            except (ValueError, KeyError) as exc:
                writer.writerow([line, *row, "", "", str(exc)])


def make_files(rows: int, folder: Path) -> tuple[Path, Path]:
    import duckdb
    from tests.engine.sql_rows import patients, write_csv

    from neutropenia_kb import evaluator_for, load

    kb = load(ROOT / "rules")
    src = folder / f"patients_{rows}.csv"
    write_csv(src, patients(14, rows, evaluator_for(kb).program.symptoms))
    parquet = folder / f"patients_{rows}.parquet"
    duckdb.execute(f"COPY (SELECT * FROM read_csv('{src}', all_varchar = true)) TO "
                   f"'{parquet}' (FORMAT parquet)")
    return src, parquet


def measure(engine: str, src: Path, out: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", CHILD, engine, str(src), str(out), str(ROOT)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--spark", action="store_true", help="also Spark local on the first size")
    parser.add_argument("--skip-python", action="store_true",
                        help="leave out the Python engine above 1,000,000 rows (it takes minutes)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i, rows in enumerate(args.rows):
            src, parquet = make_files(rows, folder)
            runs = [("hand-written float, CSV", "hand", src, folder / "hand.csv"),
                    ("duckdb, CSV", "duckdb", src, folder / "duck.csv"),
                    ("duckdb, Parquet", "duckdb", parquet, folder / "duck.parquet")]
            if not (args.skip_python and rows > 1_000_000):
                runs.append(("python engine, CSV", "python", src, folder / "py.csv"))
            if args.spark and i == 0:
                runs.append(("spark local[2], CSV", "spark", src, folder / "spark.csv"))
                runs.append(("spark local[2], Parquet", "spark", parquet, folder / "spark.parquet"))
            results = {}
            print(f"\n{rows:,} rows")
            for label, engine, path, out in runs:
                got = measure(engine, path, out)
                results[label] = got
                print(f"  {label:26} {rows / got['seconds']:>10,.0f} rows/s  "
                      f"{got['seconds']:7.1f} s  peak {got['peak_mib']:6.0f} MiB", flush=True)
            hand = rows / results["hand-written float, CSV"]["seconds"]
            for label, got in results.items():
                print(f"  {label:26} {rows / got['seconds'] / hand:5.2f} × hand-written")
            if "python engine, CSV" in results:
                py = results["python engine, CSV"]["seconds"]
                print(f"  duckdb CSV / python engine: {py / results['duckdb, CSV']['seconds']:.1f}×")


if __name__ == "__main__":
    main()
