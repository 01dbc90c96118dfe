"""Run metafor's own testthat assertions against regrow.meta.

``assertions.json`` (written by ``extract_metafor_tests.R`` from metafor 3.8-1's tests/testthat) lists every
``expect_*()`` call: its id ``<file>:<line>`` (``#n`` for the n-th run of a line in a loop), the R code,
the value the test expects, its tolerance, and a category: ``uni`` (in scope), ``mv`` (rma.mv: E2's part),
``glmm`` (rma.glmm), ``plot`` or ``placeholder`` (a bare ``expect_true(TRUE)``), the last three left out.

The Python ports (``port_*.py``, one per R test file) re-enact each ``test_that()`` block with regrow.meta
and report the value of each assertion with :meth:`Case.check`; :func:`run_all` compares every reported
value with the recorded expectation using testthat's rule (R's ``all.equal``: mean relative difference
within the tolerance) and gives each assertion a status: ``pass``, ``fail``, ``error`` (the block raised
before reaching it), ``not_portable`` (depends on R's random numbers or R-only attributes), ``not_ported``,
or ``excluded:<category>``.
"""

from __future__ import annotations

import importlib.util
import json
import math
import traceback
import warnings as pywarnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).parent
ASSERTIONS = HERE / "assertions.json"
STATUS = HERE / "status.json"
EXCLUDED = ("mv", "glmm", "plot", "placeholder")


def load_assertions() -> dict[str, dict[str, Any]]:
    doc = json.loads(ASSERTIONS.read_text())
    return {a["id"]: a for a in doc["assertions"]}


# ------------------------------------------------------------------------------------------- all.equal


def _values(obj: Any) -> list[Any]:
    if obj is None:
        return []
    if isinstance(obj, dict) and "values" in obj:
        vals = obj["values"]
        return vals if isinstance(vals, list) else [vals]
    if isinstance(obj, str | bool | np.bool_):
        return [obj]
    arr = np.asarray(obj, dtype=object).reshape(-1)
    return [
        None if (v is None or (isinstance(v, float | np.floating) and math.isnan(v))) else v
        for v in arr.tolist()
    ]


def all_equal(actual: Any, expected: Any, tolerance: float | None) -> str | None:
    """R's ``all.equal(actual, expected, tolerance)`` without attributes: None when equal, else why not."""
    tol = 1.5e-8 if tolerance is None else float(tolerance)
    a, e = _values(actual), _values(expected)
    if len(a) != len(e):
        return f"lengths differ: {len(a)} vs {len(e)} (ours {a[:6]}, expected {e[:6]})"

    def rbool(v):
        return ("TRUE" if v else "FALSE") if isinstance(v, bool | np.bool_) else v

    if any(isinstance(v, str) for v in e + a):
        a, e = [rbool(v) for v in a], [rbool(v) for v in e]

        # R's as.matrix() of a mixed data frame pads numbers into text: compare numbers as numbers
        def num(v):
            try:
                return float(str(v).strip())
            except ValueError:
                return None

        na, ne = [num(v) for v in a], [num(v) for v in e]
        if all(x is not None for x in na + ne):
            return all_equal(na, ne, tolerance)
        # element by element: numbers (as R formats them into text) as numbers, text as text
        text = [i for i in range(len(a)) if na[i] is None or ne[i] is None]
        if [str(a[i]).strip() for i in text] != [str(e[i]).strip() for i in text]:
            return f"{a[:6]} != {e[:6]}"
        nums = [i for i in range(len(a)) if i not in set(text)]
        return all_equal([na[i] for i in nums], [ne[i] for i in nums], tolerance) if nums else None
    if any(isinstance(v, bool | np.bool_) for v in e):
        return None if [None if v is None else bool(v) for v in a] == e else f"{a[:6]} != {e[:6]}"
    na_a = [v is None for v in a]
    na_e = [v is None for v in e]
    if na_a != na_e:
        return f"NA mismatch: ours {a[:8]}, expected {e[:8]}"
    pairs = [
        (float(x), float(y)) for x, y in zip(a, e, strict=True) if x is not None and float(x) != float(y)
    ]
    if not pairs:
        return None
    t = np.array([p[0] for p in pairs])
    c = np.array([p[1] for p in pairs])
    with np.errstate(invalid="ignore"):
        xy = float(np.mean(np.abs(t - c)))
        xn = float(np.mean(np.abs(t)))
    if math.isfinite(xn) and xn > tol:
        xy /= xn
    if math.isnan(xy) or xy > tol:
        return f"mean difference {xy:.3g} > {tol:g} (ours {t[:4].tolist()}, expected {c[:4].tolist()})"
    return None


# ------------------------------------------------------------------------------------------------ cases


@dataclass
class Case:
    """The assertions one ``test_that()`` block reports."""

    file: str
    results: dict[str, tuple[str, str]] = field(default_factory=dict)
    assertions: dict[str, dict[str, Any]] = field(default_factory=dict)
    _runs: dict[int, int] = field(default_factory=dict)

    def _id(self, line: int) -> str:
        n = self._runs.get(line, 0) + 1
        self._runs[line] = n
        return f"{self.file}:{line}" if n == 1 else f"{self.file}:{line}#{n}"

    def _record(self, aid: str, status: str, detail: str = "") -> None:
        if aid not in self.assertions:
            raise KeyError(f"{aid}: no such assertion in assertions.json (wrong line?)")
        self.results[aid] = (status, detail)

    def check(self, line: int, value: Any) -> None:
        """The value of the ``expect_equivalent/equal/identical/true/null`` call on ``line``."""
        aid = self._id(line)
        a = self.assertions.get(aid)
        if a is None:
            raise KeyError(f"{aid}: no such assertion in assertions.json (wrong line?)")
        kind = a["kind"]
        if kind == "expect_true":
            why = (
                None
                if value is True or (isinstance(value, np.bool_) and bool(value))
                else f"{value!r} is not TRUE"
            )
        elif kind == "expect_null":
            why = None if value is None else f"{value!r} is not NULL"
        elif isinstance(a.get("expected"), dict) and a["expected"].get("class") == "formula":
            # an R formula object: compare the formula text (the assertion's code) without spaces
            want = str(a.get("code", "")).replace(" ", "")
            why = None if str(value).replace(" ", "") == want else f"{value!r} != {want!r}"
        elif kind == "expect_identical":
            why = all_equal(value, a.get("expected"), 0.0)
        else:
            why = all_equal(value, a.get("expected"), a.get("tolerance"))
        self._record(aid, "pass" if why is None else "fail", why or "")

    def checks(self, values: dict[int, Any]) -> None:
        """Several :meth:`check` calls, line -> value, in order."""
        for line, value in values.items():
            self.check(line, value)

    def check_fields(self, line: int, values: dict[str, Any]) -> None:
        """An assertion on a whole R object (a list with print settings such as ``digits``): compares the
        statistical entries given here, by name, with the same entries of the expected object."""
        aid = self._id(line)
        a = self.assertions[aid]
        exp = a.get("expected") or {}
        names = exp.get("names") or []
        vals = exp.get("values")
        vals = vals if isinstance(vals, list) else [vals]
        problems = []
        for name, value in values.items():
            if name not in names:
                problems.append(f"{name}: not in the expected object")
                continue
            idx = [
                i
                for i, n in enumerate(names)
                if n == name or (n.startswith(name) and n[len(name) :].isdigit())
            ]
            why = all_equal(value, [vals[i] for i in idx], a.get("tolerance"))
            if why:
                problems.append(f"{name}: {why}")
        self._record(aid, "fail" if problems else "pass", "; ".join(problems))

    def not_portable(self, line: int, why: str) -> None:
        """An assertion whose value cannot be reproduced outside R (R's random numbers, R attributes);
        it counts as not passing."""
        self._record(self._id(line), "not_portable", why)

    def warns(self, line: int, call: Callable[[], Any]) -> Any:
        """``expect_warning(expr)``: ``call`` must warn (a Python warning or a message in ``.warnings``)."""
        aid = self._id(line)
        with pywarnings.catch_warnings(record=True) as caught:
            pywarnings.simplefilter("always")
            result = call()
        listed = list(getattr(result, "warnings", []) or [])
        ok = bool(caught) or bool(listed)
        self._record(aid, "pass" if ok else "fail", "" if ok else "no warning")
        return result

    def raises(self, line: int, call: Callable[[], Any]) -> None:
        """``expect_error(expr)``: ``call`` must raise a regrow error (a clear message, never a crash)."""
        from regrow.errors import RegrowError

        aid = self._id(line)
        try:
            call()
        except RegrowError:
            self._record(aid, "pass")
            return
        except Exception as exc:
            self._record(aid, "fail", f"raised {type(exc).__name__}: {exc}")
            return
        self._record(aid, "fail", "did not raise")


def block(
    description: str, *, slow: bool = False
) -> Callable[[Callable[[Case], None]], Callable[[Case], None]]:
    """Mark a port function as the Python version of ``test_that(description, ...)``; ``slow`` blocks (more
    than a few seconds) are left out of :func:`run_all` unless it is asked to include them."""

    def mark(func: Callable[[Case], None]) -> Callable[[Case], None]:
        func.description = description  # type: ignore[attr-defined]
        func.slow = slow  # type: ignore[attr-defined]
        return func

    return mark


def _port_modules() -> list[Any]:
    modules = []
    for path in sorted(HERE.glob("port_*.py")):
        spec = importlib.util.spec_from_file_location(f"metafor_port_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        assert spec.loader is not None
        spec.loader.exec_module(module)
        modules.append(module)
    return modules


def run_all(*, include_slow: bool = True) -> dict[str, tuple[str, str]]:
    """Status and detail of every recorded assertion (``include_slow=False``: the slow blocks' assertions
    are reported as ``skipped_slow``)."""
    assertions = load_assertions()
    status: dict[str, tuple[str, str]] = {}
    for module in _port_modules():
        file = module.FILE
        for name in dir(module):
            func = getattr(module, name)
            if not callable(func) or not hasattr(func, "description"):
                continue
            if getattr(func, "slow", False) and not include_slow:
                for aid, a in assertions.items():
                    if aid.split(":")[0] == file and a.get("test") == func.description:
                        status[aid] = ("skipped_slow", "")
                continue
            case = Case(file=file, assertions=assertions)
            members = [
                aid
                for aid, a in assertions.items()
                if aid.split(":")[0] == file and a.get("test") == func.description
            ]
            try:
                with pywarnings.catch_warnings():
                    pywarnings.simplefilter("ignore")
                    with np.errstate(all="ignore"):
                        func(case)
            except Exception as exc:
                detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
                tb = traceback.extract_tb(exc.__traceback__)
                where = next(
                    (f"{Path(f.filename).name}:{f.lineno}" for f in reversed(tb) if "port_" in f.filename), ""
                )
                for aid in members:
                    case.results.setdefault(aid, ("error", f"{detail} ({where})"))
            status.update(case.results)
    out = {}
    for aid, a in assertions.items():
        if a["category"] in EXCLUDED:
            out[aid] = (f"excluded:{a['category']}", "")
        else:
            out[aid] = status.get(aid, ("not_ported", ""))
    return out


def summary(status: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """Counts and the fraction of in-scope assertions that run and agree."""
    counts: dict[str, int] = {}
    for s, _ in status.values():
        counts[s] = counts.get(s, 0) + 1
    in_scope = sum(n for s, n in counts.items() if not s.startswith("excluded"))
    return {
        "counts": dict(sorted(counts.items())),
        "in_scope": in_scope,
        "passing": counts.get("pass", 0),
        "fraction": counts.get("pass", 0) / in_scope if in_scope else 0.0,
    }


DATA = HERE / "data"


def data(name: str):
    """A metadat data set (``dat.bcg``) as a pandas DataFrame (empty cells are missing)."""
    import pandas as pd

    path = DATA / f"{name}.csv"
    if not path.is_file():
        path = Path(__file__).resolve().parents[3].parent / "shared" / "metafor" / "data" / f"{name}.csv"
    return pd.read_csv(path)


def col(df, name: str) -> np.ndarray:
    """A numeric column as a float array (NaN where missing)."""
    return df[name].to_numpy(dtype=float)


def coef_table(res) -> np.ndarray:
    """metafor's ``c(as.matrix(coef(summary(res))))``: estimate, se, zval, pval, ci.lb, ci.ub, column-major."""
    return np.column_stack([res.beta, res.se, res.zval, res.pval, res.ci_lb, res.ci_ub]).ravel(order="F")


def metafor_control():
    """metafor's default iteration settings (threshold 1e-5, 100 iterations): for assertions that compare
    two metafor fits at machine precision, which only agree with a fit stopped where metafor stops."""
    from regrow.meta import Control

    return Control(threshold=1e-5, maxiter=100)


def write_status(status: dict[str, tuple[str, str]], path: Path = STATUS) -> dict[str, Any]:
    """Write the machine-readable list of assertion statuses (``status.json``); returns the summary."""
    info = summary(status)
    by_category: dict[str, dict[str, int]] = {}
    assertions = load_assertions()
    for aid, (s, _) in status.items():
        cat = assertions[aid]["category"]
        by_category.setdefault(cat, {}).setdefault(s, 0)
        by_category[cat][s] += 1
    doc = {
        "metafor": "3.8-1",
        "summary": info,
        "by_category": {c: dict(sorted(v.items())) for c, v in sorted(by_category.items())},
        "assertions": {
            aid: {"status": s, "detail": d} if d else {"status": s} for aid, (s, d) in sorted(status.items())
        },
    }
    path.write_text(json.dumps(doc, indent=1) + "\n")
    return info


if __name__ == "__main__":  # python tests/meta/testthat/harness.py: refresh status.json and print the summary
    import sys

    sys.path.insert(0, str(HERE))
    result = write_status(run_all())
    print(json.dumps(result, indent=1))
