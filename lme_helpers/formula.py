"""Parse lme4-style model formulas.

An lme4 formula such as ``y ~ x + (1 + x | school)`` has a fixed part
(``y ~ x``) and random-effects terms in parentheses with a bar. This module
splits the two, expands the shorthands ``||`` and ``/`` and returns plain data
structures that :mod:`lme_helpers.fitting` turns into a statsmodels model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["RandomTerm", "ParsedFormula", "parse_formula"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


@dataclass(frozen=True)
class RandomTerm:
    """One random-effects term after expansion.

    Attributes
    ----------
    group : tuple of str
        The grouping factor; more than one name means an interaction such as
        ``batch:sample`` (written by ``(1 | batch/sample)``).
    intercept : bool
        Whether the term has a random intercept.
    slopes : tuple of str
        Covariates with random slopes.
    correlated : bool
        Whether the intercept and slopes have a free covariance matrix.
    source : str
        The text of the term as written, for error messages.
    """

    group: tuple[str, ...]
    intercept: bool
    slopes: tuple[str, ...]
    correlated: bool
    source: str
    nested: bool = False

    @property
    def group_name(self) -> str:
        """The grouping factor's name as lme4 prints it.

        ``(1 | batch/cask)`` gives ``cask:batch``; ``(1 | batch:cask)`` stays
        ``batch:cask``.
        """
        names = reversed(self.group) if self.nested else self.group
        return ":".join(names)

    @property
    def n_effects(self) -> int:
        """Number of random effects per level of the grouping factor."""
        return int(self.intercept) + len(self.slopes)


@dataclass
class ParsedFormula:
    """A formula split into its fixed and random parts."""

    response: str
    fixed: str
    random: list[RandomTerm] = field(default_factory=list)
    original: str = ""

    @property
    def fixed_formula(self) -> str:
        """The fixed part as a patsy formula, ``response ~ rhs``."""
        return f"{self.response} ~ {self.fixed}"


def _split_top_level(text: str, sep: str) -> list[str]:
    """Split ``text`` on ``sep`` where it is not inside parentheses."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _find_bar_terms(rhs: str, original: str) -> tuple[str, list[str]]:
    """Remove ``( ... | ... )`` terms from ``rhs``; return what is left and the terms."""
    depth = 0
    for ch in rhs:
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            raise ValueError(f"Unbalanced parentheses in formula {original!r}.")
    if depth != 0:
        raise ValueError(f"Unbalanced parentheses in formula {original!r}.")

    terms: list[str] = []
    out: list[str] = []
    i = 0
    while i < len(rhs):
        if rhs[i] == "(":
            # find the matching parenthesis
            depth, j = 0, i
            while j < len(rhs):
                depth += rhs[j] == "("
                depth -= rhs[j] == ")"
                if depth == 0:
                    break
                j += 1
            inner = rhs[i + 1 : j]
            if "|" in _top(inner):
                # a bar term only counts when it is a whole additive term
                before = "".join(out).rstrip()
                if before and not before.endswith("+"):
                    raise ValueError(
                        f"Random-effects term '({inner.strip()})' must be added to the "
                        f"formula with '+'; got {original!r}."
                    )
                terms.append(inner)
                i = j + 1
                continue
            out.append(rhs[i : j + 1])
            i = j + 1
            continue
        out.append(rhs[i])
        i += 1
    rest = "".join(out)
    # tidy dangling plus signs left by the removed terms
    pieces = [p.strip() for p in _split_top_level(rest, "+")]
    pieces = [p for p in pieces if p]
    return " + ".join(pieces), terms


def _top(text: str) -> str:
    """Characters of ``text`` at parenthesis depth zero (others blanked)."""
    depth, out = 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        if depth == 0:
            out.append(ch)
        else:
            out.append(" ")
        if ch == ")":
            depth -= 1
    return "".join(out)


def _parse_expr(expr: str, source: str) -> tuple[bool, list[str]]:
    """Parse the left side of a bar: intercept flag and slope covariates."""
    pieces = [p.strip() for p in re.split(r"(?=[+-])", expr.replace(" ", "")) if p.strip()]
    intercept = True
    slopes: list[str] = []
    for piece in pieces:
        sign = "-" if piece.startswith("-") else "+"
        name = piece.lstrip("+-")
        if name == "":
            raise ValueError(f"Malformed random-effects term '({source})'.")
        if name in ("0", "-1") or (sign == "-" and name == "1"):
            intercept = False
        elif name == "1":
            intercept = True if sign == "+" else False
        elif sign == "-":
            raise ValueError(
                f"Random-effects term '({source})': removing '{name}' is not supported."
            )
        elif _IDENT.match(name):
            slopes.append(name)
        else:
            raise ValueError(
                f"Random-effects term '({source})': '{name}' is not supported as a random "
                "slope; create a column for it in the data and use that column's name."
            )
    if not intercept and not slopes:
        raise ValueError(f"Random-effects term '({source})' has no random effects.")
    return intercept, slopes


def _parse_group(text: str, source: str) -> tuple[list[tuple[str, ...]], bool]:
    """Parse the right side of a bar into one or more grouping factors."""
    text = text.replace(" ", "")
    if not text:
        raise ValueError(f"Random-effects term '({source})' has no grouping factor.")
    if "/" in text:
        names = text.split("/")
        for n in names:
            if not _IDENT.match(n):
                raise ValueError(f"Random-effects term '({source})': bad grouping factor {n!r}.")
        # a/b/c -> a, a:b, a:b:c
        return [tuple(names[: k + 1]) for k in range(len(names))], True
    names = text.split(":")
    for n in names:
        if not _IDENT.match(n):
            raise ValueError(f"Random-effects term '({source})': bad grouping factor {n!r}.")
    return [tuple(names)], False


def parse_formula(formula: str) -> ParsedFormula:
    """Split an lme4-style formula into its fixed and random parts.

    Parameters
    ----------
    formula : str
        For example ``"normexam ~ standLRT + (standLRT | school)"``.

    Returns
    -------
    ParsedFormula
        The response, the fixed right-hand side (a patsy formula) and the
        expanded random terms.

    Raises
    ------
    ValueError
        For a formula without ``~``, unbalanced parentheses or a malformed
        random-effects term; the message quotes the offending term.

    Examples
    --------
    >>> p = parse_formula("y ~ x + (x || g)")
    >>> p.fixed, [(t.group, t.intercept, t.slopes) for t in p.random]
    ('x', [(('g',), True, ()), (('g',), False, ('x',))])
    """
    if not isinstance(formula, str) or "~" not in formula:
        raise ValueError(f"A model formula needs '~' between response and predictors; got {formula!r}.")
    lhs, rhs = formula.split("~", 1)
    response = lhs.strip()
    if not response:
        raise ValueError(f"Formula {formula!r} has no response on the left of '~'.")
    if "~" in rhs:
        raise ValueError(f"Formula {formula!r} has more than one '~'.")
    fixed, bar_terms = _find_bar_terms(rhs, formula)
    if "|" in _top(fixed):
        raise ValueError(
            f"Formula {formula!r} has a '|' outside parentheses; write each random-effects term "
            "in its own parentheses, as in '(1 | group)'."
        )
    if not fixed:
        fixed = "1"
    random: list[RandomTerm] = []
    for inner in bar_terms:
        source = inner.strip()
        double = "||" in inner
        parts = inner.split("||") if double else inner.split("|")
        if len(parts) != 2:
            raise ValueError(f"Malformed random-effects term '({source})'.")
        intercept, slopes = _parse_expr(parts[0], source)
        groups, nested = _parse_group(parts[1], source)
        if double and len(groups) > 1:
            raise ValueError(
                f"Random-effects term '({source})': '||' with nested factors is not supported; "
                "write the terms out one by one."
            )
        for group in groups:
            if double:
                if intercept:
                    random.append(RandomTerm(group, True, (), False, source, nested))
                for s in slopes:
                    random.append(RandomTerm(group, False, (s,), False, source, nested))
            else:
                random.append(RandomTerm(group, intercept, tuple(slopes), True, source, nested))
    return ParsedFormula(response=response, fixed=fixed, random=random, original=formula)
