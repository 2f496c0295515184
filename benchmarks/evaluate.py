"""How fast is the evaluator, next to the same rules written by hand in plain Python?

    python benchmarks/evaluate.py                       # 100,000 patients, 1,000,000 CSV rows
    python benchmarks/evaluate.py --rows 200000         # a quicker batch run

Part 1 runs the compiled knowledge base (``neutropenia_kb.evaluate(kb, patient)``: input
checking, exact units, decisions and advice ids; explanations are lazy and not built) and a hand-written function implementing the
same rules of rules/ on the same synthetic patients, checks that both agree on every patient,
and prints patients per second for both and their ratio. It also times the decision step alone
(already-parsed inputs). Times are CPU seconds of this process (time.process_time), so that
other work on a shared machine counts less. Part 2 streams a CSV batch through `nkb evaluate`
code (batch.Rows and batch.run) in a child process, at a tenth of the rows and at the full count,
and the same file through hand_csv (hand() with its cells read and checked in floats, every
result column written but settle_with), and prints CPU time (best of 3), peak memory (VmHWM:
flat in the number of rows) and the ratio of the two at the full count.

    python benchmarks/evaluate.py --batch-only --rows 100000   # part 2 only
    python benchmarks/evaluate.py --batch-only --distinct    # and on all-distinct values
    git worktree add /tmp/before main   # then, before and after side by side in one run:
    python benchmarks/evaluate.py --batch-only --distinct --adversarial --against /tmp/before
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
from fractions import Fraction
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


def load_advice(kb: Any) -> None:
    """Fill ADVICE (the advice ids by condition) from the knowledge base, for hand()."""
    for a in [*kb.tests, *kb.treatments, *kb.precautions]:
        when = " ".join((a.applies_when or "").split())
        ADVICE[when] = ADVICE.get(when, frozenset()) | {a.id}


def hand_csv(src: str, out: str, count: int) -> int:
    """The batch's CSV-to-CSV work by hand in plain floats, around hand(): read each row, check
    each cell (number and range, unit, symptom ids, yes/no) with a message naming the field,
    decide, and write the input cells and the same result columns as `nkb evaluate`. It does
    not work out settle_with (written empty) and is not exact near thresholds."""
    import itertools

    words = {"true": True, "yes": True, "y": True, "1": True, "false": False, "no": False,
             "n": False, "0": False}
    known = frozenset(SYMPTOMS) | {"feeling_unwell", "confusion", "shortness_of_breath",
                                   "line_site_signs"}
    ranges = {"anc": (0.0, 100000.0), "temperature": (25.0, 45.0), "age_years": (0.0, 130.0)}

    def number(name: str, text: str) -> float:
        value = float(text)
        low, high = ranges[name]
        if not low <= value <= high:
            raise ValueError(f"{name}: '{text}' is not allowed: from {low:g} to {high:g}")
        return value

    with open(src, newline="") as f, open(out, "w", newline="") as o:
        reader, writer = csv.reader(f), csv.writer(o)
        header = next(reader)
        writer.writerow(["line", *header, "severity", "urgency", "urgency_certain", "settle_with",
                         "anc_cells_per_ul", "fever", "scope_warnings", "advice_ids", "error"])
        rows = 0
        for line, cells in enumerate(itertools.islice(reader, count), start=2):
            rows += 1
            p: dict[str, Any] = {}
            try:
                for name, text in zip(header, cells):
                    text = text.strip()
                    if not text or name == "id":
                        continue
                    if name in ranges:
                        p[name] = number(name, text)
                    elif name == "symptoms":
                        items = [s.strip() for s in text.split(";") if s.strip()]
                        if any(s not in known for s in items):
                            raise ValueError(f"symptoms: '{text}' is not allowed")
                        p[name] = items
                    elif text.lower() in words:
                        p[name] = words[text.lower()]
                    else:
                        raise ValueError(f"{name}: '{text}' is not allowed: true or false")
                sev, urgency, certain, fever, advice, infant = hand(p)
                anc = p.get("anc")
                writer.writerow([line, *cells, sev or "unknown", urgency,
                                 "true" if certain else "false", "",
                                 "" if anc is None else f"{anc:g}",
                                 "" if fever is None else "true" if fever else "false",
                                 "infant" if infant else "", ";".join(sorted(advice)), ""])
            except ValueError as exc:
                writer.writerow([line, *cells, "", "", "", "", "", "", "", "", str(exc)])
    return rows


def part1(n: int) -> None:
    import neutropenia_kb

    kb = neutropenia_kb.load(ROOT / "rules")
    load_advice(kb)
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


def part2(rows: int, distinct: bool = False, against: str | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "patients.csv"
        _write_csv(src, rows, distinct)
        print(f"part 2 on {'all-distinct' if distinct else 'realistic'} values:")
        rates = _children(src, rows, against, hand=True)
        print(f"batch CSV→CSV: nkb at {rates['nkb'] / rates['hand']:.2f}× the hand-written "
              "function's speed (the hand-written one leaves settle_with empty and is not exact)")
        if against:
            print(f"  this checkout at {rates['nkb'] / rates['before']:.2f}× {against}")
        print(_agreement(src, Path(tmp), min(rows, 20_000)))


def part2_adversarial(rows: int, against: str | None) -> None:
    """The seeded rows of the SQL sameness tests (tests/engine/sql_rows.py, as
    benchmarks/scale.py writes them): units, edges, decimals to 18 places, a third bad rows.
    hand_csv does not read their units, so only nkb runs (and the ``against`` checkout)."""
    sys.path.insert(0, str(ROOT))
    from tests.engine.sql_rows import patients, write_csv

    import neutropenia_kb

    symptoms = evaluator_for(neutropenia_kb.load(ROOT / "rules")).program.symptoms
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "patients.csv"
        write_csv(src, patients(14, rows, symptoms))
        print("part 2 on the adversarial rows of tests/engine/sql_rows.py:")
        rates = _children(src, rows, against, hand=False)
        if against:
            print(f"  this checkout at {rates['nkb'] / rates['before']:.2f}× {against}")


def _children(src: Path, rows: int, against: str | None, hand: bool) -> dict[str, float]:
    """Each side in its own process, printing its line; rows/s by side."""
    rates = {}
    runs = [("nkb", max(rows // 10, 1), None), ("nkb", rows, None)]
    runs += [("hand", rows, None)] if hand else []
    runs += [("before", rows, against)] if against else []
    for mode, count, checkout in runs:
        env = dict(os.environ)
        if checkout:  # the other checkout's package first on the path
            env["PYTHONPATH"] = os.pathsep.join([str(Path(checkout) / "src"),
                                                 env.get("PYTHONPATH", "")])
        out = subprocess.run([sys.executable, __file__, "--batch-child",
                              "nkb" if mode == "before" else mode, str(src), str(count)],
                             capture_output=True, text=True, check=True, env=env)
        line = out.stdout.strip()
        print(line.replace("batch CSV (nkb)", f"before ({Path(checkout).name})")[:23].ljust(23)
              + line[23:] if checkout else line)
        rates[mode] = float(out.stdout.split(" rows/s")[0].split()[-1].replace(",", ""))
    return rates


def _agreement(src: Path, tmp: Path, count: int) -> str:
    """Both sides on the first rows: the decision columns must be the same in every row."""
    import itertools

    import neutropenia_kb
    from neutropenia_kb.engine.batch import Rows, accepted_columns, run

    kb = neutropenia_kb.load(ROOT / "rules")
    load_advice(kb)
    evaluator = evaluator_for(kb)
    with src.open("rb") as f, (tmp / "nkb.csv").open("w", newline="") as out:
        rows = Rows(f, "csv", accepted_columns(evaluator))
        run(evaluator, itertools.islice(rows, count), out, "csv", rows.columns)
    hand_csv(str(src), str(tmp / "hand.csv"), count)
    columns = ("severity", "urgency", "urgency_certain", "fever", "advice_ids", "error")
    with (tmp / "nkb.csv").open(newline="") as a, (tmp / "hand.csv").open(newline="") as b:
        pairs = list(zip(csv.DictReader(a), csv.DictReader(b)))
    same = sum(all(x[c] == y[c] for c in columns) for x, y in pairs)
    return f"agreement: {same:,} of {len(pairs):,} rows with the same {', '.join(columns)}"


def _write_csv(path: Path, rows: int, distinct: bool = False) -> None:
    """Seeded rows as a lab feed writes them; ``distinct``: every count, temperature and age
    different from every other (no cell is read twice: no cache helps)."""
    columns = ["id", "anc", "temperature", "symptoms", "on_chemotherapy", "age_years"]
    rng = random.Random(7)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for i in range(rows):
            symptoms = ";".join(rng.sample(SYMPTOMS, rng.choice((0, 0, 1))))
            chemo = rng.choice(("true", "false", ""))
            if distinct:  # i spread over each range with enough decimals to stay distinct
                share = Fraction(i, rows)
                w.writerow([i, _places(100 + 3900 * share, 4), _places(36 + Fraction(7, 2) *
                            share, 8), symptoms, chemo, _places(1 + 88 * share, 8)])
            else:
                w.writerow([i, rng.randrange(100, 4000), f"{rng.uniform(36, 39.5):.1f}",
                            symptoms, chemo, rng.randrange(0, 90)])


def _places(value: Fraction, places: int) -> str:
    scaled = int(value * 10**places)
    return f"{scaled // 10**places}.{scaled % 10**places:0{places}d}"


def batch_child(mode: str, src: str, count: int) -> None:
    """One side of part 2 in its own process, best of three rounds of CPU time; each nkb round
    has a fresh evaluator, so no round starts with the cells and decisions of the last."""
    import itertools

    import neutropenia_kb
    from neutropenia_kb.engine.batch import Rows, accepted_columns, run
    from neutropenia_kb.engine.evaluate import Evaluator

    kb = neutropenia_kb.load(ROOT / "rules")
    load_advice(kb)
    base = _peak_kib()
    best, errors = float("inf"), 0
    for _ in range(3):
        evaluator = Evaluator(kb)  # compiled before timing
        start = time.process_time()
        if mode == "hand":
            done = hand_csv(src, os.devnull, count)
        else:
            with open(src, "rb") as f, open(os.devnull, "w", newline="") as out:
                rows = Rows(f, "csv", accepted_columns(evaluator))
                summary = run(evaluator, itertools.islice(rows, count), out, "csv",
                              rows.columns)
            done, errors = summary.rows, summary.errors
        best = min(best, time.process_time() - start)
    peak = _peak_kib()
    label = "hand-written float CSV" if mode == "hand" else "batch CSV (nkb)"
    print(f"{label:23} {done:>10,} rows: {best:7.1f} s, {done / best:8,.0f} rows/s, peak RSS "
          f"{peak / 1024:6.1f} MiB (after loading the KB: {base / 1024:.1f} MiB), {errors} bad "
          "rows")


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
    parser.add_argument("--batch-child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--batch-only", action="store_true", help="part 2 only")
    parser.add_argument("--distinct", action="store_true",
                        help="part 2 on all-distinct values too (no cell read twice)")
    parser.add_argument("--adversarial", action="store_true",
                        help="part 2 on tests/engine/sql_rows.py's seeded rows too")
    parser.add_argument("--against", metavar="CHECKOUT",
                        help="part 2 also with another checkout's package (e.g. a worktree "
                             "of main), in the same run")
    args = parser.parse_args()
    if args.batch_child:
        batch_child(args.batch_child[0], args.batch_child[1], int(args.batch_child[2]))
        return
    if not args.batch_only:
        part1(args.patients)
    part2(args.rows, against=args.against)
    if args.distinct:
        part2(args.rows, distinct=True, against=args.against)
    if args.adversarial:
        part2_adversarial(args.rows, args.against)


if __name__ == "__main__":
    main()
