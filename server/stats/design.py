"""R-style model formulas ("~ elevation + forest") to design matrices, named as R names them.

formulaic builds the matrices with R's conventions (treatment contrasts, the first level of a
categorical as reference, ``scale()`` with the n - 1 standard deviation); this module adds
what unmarked does around them:

* ``offset(x)`` terms become a fixed offset on the link scale (no coefficient);
* rows where a variable the formula uses is missing are reported (``missing``) instead of
  silently dropped, so the model can drop sites or observations and say which;
* column names follow R's ``model.matrix``: ``(Intercept)``, ``habitatforest`` (formulaic's
  ``habitat[T.forest]``), ``x:z``;
* collinear columns (a rank-deficient matrix) are an error naming the columns involved.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

_OFFSET = re.compile(r"(?:^|\+)\s*offset\(([^()]*(?:\([^()]*\))?[^()]*)\)\s*")


class FormulaError(ValueError):
    """A formula that cannot be used with the data given (unknown variable, syntax, collinearity)."""


@dataclass
class Design:
    """A design matrix over all rows (NaN rows where ``missing``), its R names and offset."""

    formula: str
    matrix: np.ndarray
    names: list[str]
    offset: np.ndarray
    missing: np.ndarray  # bool per row: a variable used by the formula is missing there
    variables: list[str]
    spec: Any = None  # formulaic ModelSpec, to build the same columns for new data
    offset_terms: tuple[str, ...] = ()

    def for_new_data(self, data) -> tuple[np.ndarray, np.ndarray]:
        """The same columns (and offset) for new data (prediction); FormulaError when a value is missing."""
        import pandas as pd

        frame = pd.DataFrame(data)
        absent = [v for v in self.variables if v not in frame.columns]
        if absent:
            raise FormulaError(f"new data lack {', '.join(absent)} (needed by {self.formula})")
        if frame[self.variables].isna().any().any():
            raise FormulaError(f"new data have missing values in {', '.join(self.variables)}")
        if self.spec is None:
            mat = np.ones((len(frame), 0))
        else:
            mat = np.asarray(self.spec.get_model_matrix(frame), dtype=float)
        return mat, _offset(self.offset_terms, frame)


def r_name(name: str) -> str:
    """formulaic's column name as R's model.matrix writes it."""
    if name == "Intercept":
        return "(Intercept)"
    return re.sub(r"\[T\.([^\]]*)\]", r"\1", name)


def normalise(formula: str) -> tuple[str, tuple[str, ...]]:
    """The right-hand side without offsets, and the offset expressions; FormulaError for two-sided ones."""
    text = (formula or "").strip()
    if not text.startswith("~"):
        if "~" in text:
            raise FormulaError(f"{formula!r}: give a one-sided formula like '~ elevation + forest'")
        text = "~ " + text if text else "~ 1"
    rhs = text[1:].strip() or "1"
    if "~" in rhs:
        raise FormulaError(f"{formula!r}: only one '~' is allowed")
    offsets = tuple(m.group(1).strip() for m in _OFFSET.finditer(rhs))
    rest = _OFFSET.sub("+", rhs).strip().strip("+").strip()
    rest = re.sub(r"\+\s*\+", "+", rest)
    if not rest:
        rest = "1"
    return rest, offsets


def _offset(terms: tuple[str, ...], frame) -> np.ndarray:
    from formulaic import model_matrix

    total = np.zeros(len(frame))
    for expr in terms:
        try:
            mm = model_matrix(f"0 + {expr}", frame, na_action="ignore")
        except Exception as e:  # noqa: BLE001 - formulaic raises many kinds; the message says what
            raise FormulaError(f"offset({expr}): {_short(e)}") from None
        total = total + np.asarray(mm, dtype=float)[:, 0]
    return total


def _short(e: Exception) -> str:
    return str(e).split("\n")[0]


def required_variables(formula: str) -> list[str]:
    """The data columns a formula reads (offsets included)."""
    from formulaic import Formula

    rhs, offsets = normalise(formula)
    names: set[str] = set()
    try:
        names |= set(Formula(rhs).required_variables)
        for expr in offsets:
            names |= set(Formula(f"0 + {expr}").required_variables)
    except Exception as e:  # noqa: BLE001
        raise FormulaError(f"{formula!r} is not a valid formula: {_short(e)}") from None
    return sorted(names)


def build(formula: str, frame, what: str, available: dict[str, str] | None = None) -> Design:
    """The design of ``formula`` over ``frame`` (a pandas DataFrame), for the ``what`` submodel.

    ``available`` maps each known covariate to where it comes from (for the error naming an
    unknown one). Rows with a missing value of a used variable get NaN and ``missing`` True.
    """
    from formulaic import model_matrix

    rhs, offsets = normalise(formula)
    variables = required_variables(formula)
    unknown = [v for v in variables if v not in frame.columns]
    if unknown:
        known = ", ".join(sorted(available or frame.columns)) or "none"
        raise FormulaError(f"the {what} formula {formula!r} uses {', '.join(unknown)}, which is not a covariate "
                           f"here (known: {known})")
    missing = frame[variables].isna().any(axis=1).to_numpy() if variables else np.zeros(len(frame), bool)
    complete = frame.loc[~missing]
    n = len(frame)
    if len(complete) == 0:
        raise FormulaError(f"the {what} formula {formula!r}: every row has a missing value of "
                           f"{', '.join(variables)}")
    try:
        mm = model_matrix(rhs, complete, na_action="raise")
    except Exception as e:  # noqa: BLE001
        raise FormulaError(f"the {what} formula {formula!r}: {_short(e)}") from None
    cols = [r_name(str(c)) for c in mm.columns]
    full = np.full((n, len(cols)), np.nan)
    full[~missing] = np.asarray(mm, dtype=float)
    off = np.zeros(n)
    if offsets:
        off[~missing] = _offset(offsets, complete)
    design = Design(formula, full, cols, off, missing, variables, mm.model_spec, offsets)
    check_rank(design, what)
    return design


def check_rank(design: Design, what: str) -> None:
    """FormulaError naming the columns that are linear combinations of the others (or constant zero)."""
    X = design.matrix[~design.missing]
    k = X.shape[1]
    if k == 0:
        return
    if X.shape[0] < k:
        raise FormulaError(f"the {what} formula {design.formula!r} has {k} coefficients but only "
                           f"{X.shape[0]} rows of data")
    # In formula order, as R's lm reports aliased coefficients: a column is aliased when it
    # adds nothing to the span of the columns before it.
    scale = np.abs(X).max(axis=0)
    Xs = X / np.where(scale > 0, scale, 1.0)
    tol = max(X.shape) * np.finfo(float).eps * 1e3
    kept: list[int] = []
    aliased: list[str] = []
    for j in range(k):
        cand = Xs[:, kept + [j]]
        s = np.linalg.svd(cand, compute_uv=False)
        if s.size and s[-1] > tol * s[0]:
            kept.append(j)
        else:
            aliased.append(design.names[j])
    if aliased:
        raise FormulaError(f"the {what} formula {design.formula!r}: collinear covariates - "
                           f"{', '.join(aliased)} {'is' if len(aliased) == 1 else 'are'} a linear combination of "
                           f"the other columns ({', '.join(design.names)}); drop or combine them")
