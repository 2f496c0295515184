"""How fast is the evaluator, next to the same rules written by hand in plain Python?

    python benchmarks/evaluate.py                       # 100,000 patients, 1,000,000 CSV rows
    python benchmarks/evaluate.py --rows 200000         # a quicker batch run

Part 1 runs the compiled knowledge base (``neutropenia_kb.evaluate(kb, patient)``: input
checking, exact units, decisions and advice ids; explanations are lazy and not built) and a hand-written function implementing the
same rules of rules/ on the same synthetic patients, checks that both agree on every patient,
and prints patients per second for both and their ratio. It also times the decision step alone
(already-parsed inputs). Times are CPU seconds of this process (time.process_time), so that
other work on a shared machine counts less. Part 2 streams a CSV batch through `nkb evaluate`
code (batch.Rows and batch.run) in a child process, at a tenth of the rows and at the full count, and prints time and peak memory
(VmHWM) of each, to show memory is flat in the number of rows.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from neutropenia_kb import evaluator_for

ROOT = Path(__file__).resolve().parents[1]
SYMPTOMS = ["fever", "chills", "sore_throat", "mouth_sores", "difficulty_swallowing", "cough",
            "rash", "skin_infection", "fatigue", "nausea_vomiting"]


def synthetic(n: int, seed: int = 4) -> list[dict[str, Any]]:
    """Patients as a form or JSON feed sends them: some values missing, some in other units."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        p: dict[str, Any] = {}
        r = rng.random()
        if r < 0.7:  # a bare count under 100 is refused as ambiguous (inputs.yaml)
            p["anc"] = rng.randrange(100, 4000)
        elif r < 0.8:
            p["anc"] = f"{rng.randrange(0, 4000) / 1000} x10^9/L"
        elif r < 0.9:
            p["wbc"], p["neutrophils_percent"] = rng.randrange(500, 9000), rng.randrange(0, 90)
        if rng.random() < 0.9:
            p["temperature"] = round(rng.uniform(36.0, 39.5), 1)
        if rng.random() < 0.95:
            p["symptoms"] = rng.sample(SYMPTOMS, rng.choice((0, 0, 0, 1, 2)))
        if rng.random() < 0.9:
            p["on_chemotherapy"] = rng.random() < 0.3
        if rng.random() < 0.8:
            p["age_years"] = rng.randrange(0, 90)
        out.append(p)
    return out


# ---- the same rules, written by hand ---------------------------------------------------------

def _and(a: Any, b: Any) -> Any:
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def _or(a: Any, b: Any) -> Any:
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


# The advice ids by their conditions in rules/ (the ids are read from the knowledge base below;
# the logic is written here). An item is left out only when its condition is definitely false.
ADVICE: dict[str, frozenset[str]] = {}


def _not(a: Any) -> Any:
    return None if a is None else not a


def hand(p: dict[str, Any]) -> tuple[Any, ...]:
    """Rules 1.2.0 by hand in plain floats, in Kleene logic (None: unknown): severity (an infant
    is out of scope), the facts, the urgency rules and the advice conditions. No input checks:
    the synthetic patients are all valid, so it is the least work that gives the same answers."""
    anc = p.get("anc")
    if isinstance(anc, str):
        number, unit = anc.split(" ")
        anc = float(number) * 1000 if unit == "x10^9/L" else float(number)
    if anc is None and "wbc" in p and "neutrophils_percent" in p:
        anc = p["wbc"] * (p["neutrophils_percent"] + p.get("bands_percent", 0)) / 100
    t = p.get("temperature")
    sy = p.get("symptoms")
    sy = None if sy is None else frozenset(sy)
    chemo = p.get("on_chemotherapy")
    age = p.get("age_years")
    infant = None if age is None else age < 1
    if anc is None:
        sev = None
    elif anc >= 1500:
        sev = "normal"
    elif anc >= 1000:
        sev = "mild"
    elif anc >= 500:
        sev = "moderate"
    else:
        sev = "severe"
    neut = None if sev is None else sev != "normal"  # from the band, in scope or not

    def has(*ids: str) -> Any:
        return None if sy is None else any(i in sy for i in ids)

    hot = None if t is None else t >= 38
    fever = _or(hot, _and(has("fever"), sy is not None or t is None))
    low = None if t is None else t < 36
    sepsis = _or(chemo, neut)
    anything = None if sy is None else bool(sy)
    emergency = [_and(fever, neut), _and(fever, chemo),
                 _and(neut, has("mouth_sores", "difficulty_swallowing")),
                 _and(neut, has("fatigue")), _and(neut, has("skin_infection")),
                 _and(low, sepsis),
                 _and(sepsis, has("feeling_unwell", "chills", "confusion", "shortness_of_breath")),
                 _and(sepsis, has("line_site_signs")), has("confusion")]
    contact = [_and(anything, neut), _or(anything, fever)]
    routine = [_or(neut, chemo)]
    # decided: the most urgent level with a true rule (routine when none is); the cautious level
    # wins over it when a more urgent rule is unknown
    lt = 0 if True in emergency else 1 if True in contact else 2
    lu = 0 if None in emergency else 1 if None in contact else 2 if None in routine else 3
    level = min(lt, lu)
    older = None if age is None else age >= 12
    holds = {"": True, "neutropenia": neut, "neutropenia and older_child_or_adult": _and(neut, older),
             "neutropenia and not on_chemotherapy": _and(neut, _not(chemo)),
             "sepsis_risk": sepsis, "severity in [mild]": None if sev is None else sev == "mild",
             "on_chemotherapy": chemo}
    advice = frozenset().union(*(ids for when, ids in ADVICE.items() if holds[when] is not False))
    return (None if infant else sev, ("emergency", "contact_provider", "routine")[level],
            lt <= lu, fever, advice, infant)


def per_second(fn: Any, items: list[Any]) -> float:
    start = time.process_time()
    for item in items:
        fn(item)
    return len(items) / (time.process_time() - start)


def part1(n: int) -> None:
    import neutropenia_kb

    kb = neutropenia_kb.load(ROOT / "rules")
    for a in [*kb.tests, *kb.treatments, *kb.precautions]:
        when = " ".join((a.applies_when or "").split())
        ADVICE[when] = ADVICE.get(when, frozenset()) | {a.id}
    patients = synthetic(n)
    evaluator = evaluator_for(kb)

    def ours(p: dict[str, Any]) -> tuple[Any, ...]:
        r = evaluator.evaluate(p)
        return (None if r.severity == "unknown" else r.severity, r.urgency, r.urgency_certain,
                r.fever, r.advice_ids, bool(r.scope_warnings) or None)

    disagree = sum(1 for p in patients if ours(p)[:5] != hand(p)[:5])
    print(f"agreement: {n - disagree:,} of {n:,} patients decided the same by both")
    hand_rate = ours_rate = 0.0
    for _ in range(3):  # the best of three rounds, for each side
        hand_rate = max(hand_rate, per_second(hand, patients))
        ours_rate = max(ours_rate, per_second(lambda p: neutropenia_kb.evaluate(kb, p),
                                              patients))
    print(f"end to end (raw input → decisions + advice ids), {n:,} patients:")
    print(f"  hand-written Python : {hand_rate:12,.0f} patients/s")
    print(f"  evaluate(kb, p)     : {ours_rate:12,.0f} patients/s")
    print(f"  ratio               : {hand_rate / ours_rate:.2f}× slower than hand-written")
    parsed = [evaluator.parser.parse(p) for p in patients]
    values = [p.values for p in parsed]
    decide = evaluator.compiled.decide
    for _ in range(2):
        decide_rate = per_second(decide, values)
        result_rate = per_second(evaluator.decide, parsed)
    print("decision step only (inputs already parsed):")
    print(f"  generated function  : {decide_rate:12,.0f} patients/s")
    print(f"  + Result object     : {result_rate:12,.0f} patients/s")


def part2(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "patients.csv"
        _write_csv(src, rows)
        for count in (max(rows // 10, 1), rows):
            out = subprocess.run([sys.executable, __file__, "--batch-child", str(src),
                                  str(count)], capture_output=True, text=True, check=True)
            print(out.stdout.strip())


def _write_csv(path: Path, rows: int) -> None:
    columns = ["id", "anc", "temperature", "symptoms", "on_chemotherapy", "age_years"]
    rng = random.Random(7)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for i in range(rows):
            w.writerow([i, rng.randrange(100, 4000), f"{rng.uniform(36, 39.5):.1f}",
                        ";".join(rng.sample(SYMPTOMS, rng.choice((0, 0, 1)))),
                        rng.choice(("true", "false", "")), rng.randrange(0, 90)])


def batch_child(src: str, count: int) -> None:
    import itertools

    import neutropenia_kb
    from neutropenia_kb.engine.batch import Rows, accepted_columns, run

    kb = neutropenia_kb.load(ROOT / "rules")
    evaluator = evaluator_for(kb)  # compile before timing
    base = _peak_kib()
    start = time.process_time()
    with open(src, "rb") as f, open(os.devnull, "w", newline="") as out:
        rows = Rows(f, "csv", accepted_columns(evaluator))
        summary = run(evaluator, itertools.islice(rows, count), out, "csv", rows.columns)
    took = time.process_time() - start
    peak = _peak_kib()
    print(f"batch CSV {summary.rows:>10,} rows: {took:7.1f} s, {summary.rows / took:8,.0f} "
          f"rows/s, peak RSS {peak / 1024:6.1f} MiB (after loading the KB: "
          f"{base / 1024:.1f} MiB), {summary.errors} bad rows")


def _peak_kib() -> int:
    """Peak resident memory of this process (VmHWM). ru_maxrss would not do: Linux carries it
    over exec from the parent, which holds the 100,000 synthetic patients."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.batch_child:
        batch_child(args.batch_child[0], int(args.batch_child[1]))
        return
    part1(args.patients)
    part2(args.rows)


if __name__ == "__main__":
    main()
