"""The rules over whole files on Spark (`nkb evaluate --engine spark`): the Spark SQL dialect
of the same query as engine/scale.py's DuckDB one, the same rows, errors and report.

On a local master the rows are decided once per region key in Spark's Python workers (an
Arrow UDF, as nkb_decide in DuckDB); on a cluster every rule is judged in SQL, which needs no
Python package on the executors. The few rows SQL cannot answer exactly are answered by the
Python engine on the driver.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from neutropenia_kb.core.output_files import atomic_path
from neutropenia_kb.core.problems import Problem, UsageError
from neutropenia_kb.engine.batch import KEEP_ERRORS, RESULT_COLUMNS, Summary
from neutropenia_kb.engine.evaluate import EVALUATOR_CACHE, evaluator_for
from neutropenia_kb.engine.scale import (
    NotRowForRow,
    PythonRows,
    _csv_header,
    _split,
    by_region,
    csv_trouble,
    file_format,
)
from neutropenia_kb.engine.sql_backend import compile_sql
from neutropenia_kb.engine.sql_cells import Source, Wording
from neutropenia_kb.engine.sql_settle import DECIDED, decide_function

if TYPE_CHECKING:
    from neutropenia_kb.kb.model import KnowledgeBase


def spark_session(master: str = "local[*]") -> Any:
    """A SparkSession with ANSI mode set explicitly (a bad cast fails rather than giving NULL;
    the query never casts what it has not checked). On a local master its Python workers run
    this interpreter (PySpark reads only PYSPARK_PYTHON, else the first python3 on the PATH),
    which has nkb_decide's packages."""
    from pyspark.sql import SparkSession

    if master.startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return (SparkSession.builder.master(master).appName("nkb")
            .config("spark.sql.ansi.enabled", "true")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .getOrCreate())


def run_spark(kb: "KnowledgeBase", path: Path, target: Path, spark: Any = None,
              master: str = "local[*]") -> Summary:
    """As run_duckdb, on Spark: the Spark SQL dialect of the same query; the few rows that the
    SQL cannot answer exactly are answered by the Python engine on the driver. The query runs
    once: its result is kept (memory, then disk) for the driver's rows, the error report and
    the file, each of which would otherwise plan and run it again."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from sqlglot import exp

    in_fmt, out_fmt = file_format(path), file_format(target)
    if in_fmt == "csv":
        # Spark reads a line batch.py refuses its own way (FAILFAST fails the whole job on
        # some, a blank line is skipped and moves every line number after it): such files are
        # the Python engine's, which words each bad row
        trouble = csv_trouble(kb, path)
        if trouble is not None:
            raise NotRowForRow(f"{path}: {trouble}, which Spark would read otherwise than "
                               "the python engine")
    spark = spark or spark_session(master)
    if in_fmt == "csv":
        names = _csv_header(path, kb)
        df = spark.read.csv(str(path), header=True, inferSchema=False, quote='"', escape='"',
                            mode="FAILFAST", schema=", ".join(f"`{n}` STRING" for n in names))
        first = 2
    elif in_fmt == "parquet":
        df = spark.read.parquet(str(path))
        names = df.columns
        df = df.select(*[F.col(f"`{n}`").cast("string").alias(n) for n in names])
        first = 1
    else:
        raise UsageError("JSON Lines go through --engine python")
    # Line numbers in the JVM, without a shuffle: monotonically_increasing_id is (partition
    # index << 33) + the row's place in its partition, and the rows of the partitions before
    # are counted in one pass. (rdd.zipWithIndex sent every row through a Python worker.)
    tagged = df.withColumn("nkb_id", F.monotonically_increasing_id())
    part = F.shiftright(F.col("nkb_id"), 33)
    sizes = dict(tagged.groupBy(part.alias("p")).count().collect())
    before, total = [], 0
    for p in range(max(sizes, default=-1) + 1):
        before.append(total)
        total += sizes.get(p, 0)
    offset = F.element_at(F.array(*[F.lit(b) for b in before or [0]]), (part + 1).cast("int"))
    line = F.col("nkb_id").bitwiseAND((1 << 33) - 1) + offset + first
    tagged.select(line.alias("line"), *[F.col(f"`{n}`") for n in names]) \
        .createOrReplaceTempView("nkb_src")
    passthrough, inputs = _split(kb, names)
    evaluator = evaluator_for(kb)
    source = Source(exp.to_table("nkb_src"), tuple(inputs), "line", tuple(passthrough))
    decide = _register_decide(kb, spark) if _spark_by_region(kb, spark) else None
    query = compile_sql(evaluator.program, Wording.of(evaluator.parser), source, "spark",
                        decide=decide)
    keep = ["line", *passthrough, *inputs, *RESULT_COLUMNS]
    result = spark.sql(query.sql(dialect="spark", copy=False)).select(*keep, "exact_in_sql") \
        .persist(StorageLevel.MEMORY_AND_DISK)
    try:
        loose = result.filter("NOT exact_in_sql").select(*keep).collect()
        python_rows = PythonRows(kb)
        fixed = []
        for row in loose:
            cells = json.loads(python_rows(names, [row[n] for n in names]))
            fixed.append((*[row[n] for n in ["line", *passthrough, *inputs]],
                          *[cell or None for cell in cells]))
        out = result.filter("exact_in_sql").select(*keep)
        if fixed:
            out = out.unionByName(spark.createDataFrame(fixed, out.schema))
        summary = Summary(rows=total)
        bad = out.filter("error IS NOT NULL").select("line", "error")
        summary.errors = bad.count()
        summary.first_errors = [Problem(path, r["line"], None, f"row {r['line']}", r["error"])
                                for r in bad.orderBy("line").limit(KEEP_ERRORS).collect()]
        with atomic_path(target) as written:  # whole or not at all
            _write_spark(out.orderBy("line").coalesce(1), written, out_fmt)
    finally:
        result.unpersist()
    return summary


def _spark_by_region(kb: "KnowledgeBase", spark: Any) -> bool:
    """Decide once per region key on Spark too (nkb_decide in its Python workers) when the
    workers are this interpreter on this machine (a local master); on a cluster every rule is
    judged in SQL, which needs no Python package on the executors."""
    from pyspark.sql import functions

    context = spark.sparkContext
    return by_region(kb) and str(context.master).startswith("local") and \
        getattr(context, "pythonExec", None) == sys.executable and hasattr(functions, "arrow_udf")


def _register_decide(kb: "KnowledgeBase", spark: Any) -> str:
    """nkb_decide as a Spark Arrow UDF (SparkDecider in the workers); its SQL name."""
    import pyarrow as pa  # type: ignore[import-untyped]
    from pyspark.sql import functions

    decider = SparkDecider(kb)

    def nkb_decide(keys: Any) -> Any:
        return decider(keys)

    # PySpark tells an Arrow UDF by its type hints (read at run time, so not as text)
    nkb_decide.__annotations__ = {"keys": pa.Array, "return": pa.Array}
    arrow_udf = cast(Any, functions).arrow_udf  # PySpark 4.1; its stubs lack it
    struct = "struct<" + ", ".join(f"{name}: string" for name in DECIDED) + ">"
    spark.udf.register("nkb_decide", arrow_udf(nkb_decide, struct))
    return "nkb_decide"


# the function of each (knowledge base, fingerprint) a worker process has made: Spark unpickles
# the UDF for every task, the evaluator is compiled once per process
_WORKER_DECIDERS: dict[tuple[str, str, str], Any] = {}


class SparkDecider:
    """nkb_decide for Spark's Python workers (an Arrow UDF): sent to them with the knowledge
    base's fields but not its evaluator (compiled code does not pickle); each worker process
    compiles the rules once and keeps its keys' decisions (sql_settle.decide_function)."""

    def __init__(self, kb: "KnowledgeBase") -> None:
        self.kb = kb

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self.kb).items() if k != EVALUATOR_CACHE}

    def __setstate__(self, state: dict[str, Any]) -> None:
        from neutropenia_kb.kb.model import KnowledgeBase

        kb = object.__new__(KnowledgeBase)
        kb.__dict__.update(state)
        self.kb = kb

    def __call__(self, keys: Any) -> Any:
        program = evaluator_for(self.kb).program
        which = (program.kb_id, program.version, program.fingerprint)
        found = _WORKER_DECIDERS.get(which)
        if found is None:
            found = _WORKER_DECIDERS[which] = decide_function(evaluator_for(self.kb))
        return found(keys)


def _write_spark(out: Any, target: Path, out_fmt: str) -> None:
    """One file: Spark writes a folder of parts; the rows are in one part (coalesce(1))."""
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        folder = Path(tmp) / "out"
        writer = out.write.mode("overwrite")
        if out_fmt == "csv":
            # Spark's CSV writer trims each cell unless told not to; batch.py keeps ' Yes '
            writer.csv(str(folder), header=True, quote='"', escape='"', emptyValue="",
                       quoteAll=False, ignoreLeadingWhiteSpace=False,
                       ignoreTrailingWhiteSpace=False)
        else:
            getattr(writer, {"parquet": "parquet", "jsonl": "json"}[out_fmt])(str(folder))
        part = next(p for p in folder.iterdir() if p.name.startswith("part-"))
        shutil.move(str(part), str(target))
