"""The SQL backend's conditions: the rules' conditions as SQL in Kleene logic (SQL's own
AND/OR/NOT), comparisons made exact in each input's own unit, and derived values."""

from __future__ import annotations

from fractions import Fraction

from sqlglot import exp

from neutropenia_kb.engine.compile import CompileError
from neutropenia_kb.engine.program import (
    And,
    AnySymptom,
    Arith,
    Compare,
    Cond,
    Const,
    FactRef,
    InputRef,
    InSet,
    Known,
    Not,
    Or,
    SeverityRef,
    SymptomAny,
    Value,
)
from neutropenia_kb.engine.sql_expr import (  # noqa: F401 (DIALECTS, decimal, _ws, _dig: read by callers)
    _FALSE,
    _NOUN,
    _TRUE,
    AMBIGUOUS,
    DIALECTS,
    MAX_ERROR_CHARS,
    NUMBER,
    RESULT_COLUMNS,
    SCALE,
    Sql,
    _dig,
    _exact_decimal,
    _fill_zero,
    _foreign,
    _int,
    _join,
    _number_text,
    _pair,
    _select,
    _ws,
    and_,
    c,
    case,
    cat,
    decimal,
    fn,
    in_base,
    is_null,
    is_true,
    n,
    not_false,
    not_null,
    number_re,
    or_,
    par,
    s,
)
from neutropenia_kb.engine.sql_inputs import InputReading


class Conditions(InputReading):
    """Conditions and comparisons, on top of the inputs as read."""

    def layer(self, select: exp.Select, name: str) -> exp.Table:
        """A named step (a CTE): flat, so neither a database nor sqlglot's recursive parser
        meets twenty nested subqueries."""
        name = f"nkb_{name}"  # apart from the names of the user's tables
        self.ctes.append((name, select))
        return exp.to_table(name)

    def arith(self, node: Value) -> tuple[exp.Expr, exp.Expr]:
        """(exact DECIMAL in the base unit, whether it is exact) of a derived input's formula."""
        if isinstance(node, Const) and isinstance(node.value, Fraction):
            return decimal(node.value), exp.true()
        if isinstance(node, InputRef):
            inp = self.inputs[node.input]
            v = c(f"{inp.id}__v")
            exact = exp.EQ(this=c(f"{inp.id}__d"), expression=n(0))
            top = max(abs(Fraction(inp.max)), abs(Fraction(inp.min or 0))) \
                if inp.max is not None else None
            if top is None:
                raise CompileError(f"derived input reads '{inp.id}', which has no range")
            whens = []
            for unit in inp.units or ():
                whens.append((exp.EQ(this=c(f"{inp.id}__u"), expression=s(unit.name)),
                              in_base(v, unit.scale, unit.offset)))
            base = case(*whens, default=v) if whens else v
            digits = len(str(int(top))) + 1
            typed = exp.Cast(this=base, to=exp.DataType.build(f"DECIMAL({digits + SCALE}, {SCALE})"))
            return par(typed), exact
        if isinstance(node, Arith):
            (left, le), (right, re_) = self.arith(node.left), self.arith(node.right)
            if node.op == "/":
                if not isinstance(node.right, Const) or not isinstance(node.right.value, Fraction) \
                        or node.right.value == 0:
                    raise CompileError("the SQL backend divides only by a nonzero number")
                return par(exp.Mul(this=left, expression=_exact_decimal(1 / node.right.value))), le
            op = {"+": exp.Add, "-": exp.Sub, "*": exp.Mul}[node.op]
            return par(op(this=left, expression=right)), and_(le, re_)
        raise CompileError(f"{type(node).__name__} in a formula")

    # -- conditions ----------------------------------------------------------------------------

    def cond(self, node: Cond) -> exp.Expr:
        if isinstance(node, Const):
            if not isinstance(node.value, bool):
                raise CompileError("a value is not a yes/no condition")
            return exp.true() if node.value else exp.false()
        if isinstance(node, InputRef):
            return c(f"{node.input}__b")
        if isinstance(node, FactRef):
            return c(f"f__{node.fact}")
        if isinstance(node, Known):
            return exp.Not(this=is_null(c(f"{node.input}__k")))
        if isinstance(node, Not):
            return exp.Not(this=par(self.cond(node.operand)))  # NOT NULL is NULL: Kleene
        if isinstance(node, And):  # SQL's AND and OR are Kleene's tables
            return par(exp.and_(*[par(self.cond(i)) for i in node.items], copy=False))
        if isinstance(node, Or):
            return par(exp.or_(*[par(self.cond(i)) for i in node.items], copy=False))
        if isinstance(node, InSet):
            if not isinstance(node.value, SeverityRef):
                raise CompileError("'in' reads only the severity")
            return case((is_null(c("sev")), exp.Null()),
                        default=exp.In(this=c("sev"), expressions=[s(m) for m in node.members]))
        if isinstance(node, SymptomAny):  # a search in ',fever,cough,' per symptom: no regex
            t, sy = c(f"{node.input}__k"), c(f"{node.input}__sy")
            found = or_(*[exp.GT(this=exp.StrPosition(this=sy, substr=s(f",{i},")),
                                 expression=n(0)) for i in sorted(node.symptoms)])
            return case((is_null(t), exp.Null()), default=par(found))
        if isinstance(node, AnySymptom):
            t, sy = c(f"{node.input}__k"), c(f"{node.input}__sy")
            items = exp.Replace(this=sy, expression=s(","), replacement=s(""))
            return case((is_null(t), exp.Null()), default=exp.NEQ(this=items, expression=s("")))
        if isinstance(node, Compare):
            return self.compare(node)
        raise CompileError(f"{type(node).__name__} is not a yes/no condition")

    def compare(self, node: Compare) -> exp.Expr:
        left, right = node.left, node.right
        if isinstance(left, InputRef) and isinstance(right, Const) and \
                isinstance(right.value, Fraction):
            return self.unit_compare(self.inputs[left.input], node.op, right.value)
        if isinstance(left, SeverityRef) and isinstance(right, Const) and node.op in ("==", "!="):
            op = exp.EQ if node.op == "==" else exp.NEQ
            return op(this=c("sev"), expression=s(str(right.value)))
        if isinstance(left, InputRef) and isinstance(right, Const) and isinstance(right.value, bool):
            op = exp.EQ if node.op == "==" else exp.NEQ
            return op(this=c(f"{left.input}__b"), expression=exp.true() if right.value else exp.false())
        raise CompileError(f"the SQL backend cannot compare {type(left).__name__} with "
                           f"{type(right).__name__}")

    # -- assembly ------------------------------------------------------------------------------
