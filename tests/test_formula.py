"""Parsing lme4-style formulas."""

from __future__ import annotations

import pytest

from lme_helpers import parse_formula


def terms(formula):
    return [(t.group, t.intercept, t.slopes, t.correlated) for t in parse_formula(formula).random]


def test_random_intercept():
    p = parse_formula("y ~ x + (1 | g)")
    assert p.response == "y" and p.fixed == "x"
    assert terms("y ~ x + (1 | g)") == [(("g",), True, (), True)]


def test_correlated_slope_with_implicit_intercept():
    assert terms("y ~ x + (x | g)") == [(("g",), True, ("x",), True)]
    assert terms("y ~ x + (1 + x | g)") == [(("g",), True, ("x",), True)]


def test_uncorrelated_slope_expands():
    assert terms("y ~ x + (x || g)") == [(("g",), True, (), False), (("g",), False, ("x",), False)]


def test_slope_without_intercept():
    assert terms("y ~ x + (0 + x | g)") == [(("g",), False, ("x",), True)]
    assert terms("y ~ x + (x - 1 | g)") == [(("g",), False, ("x",), True)]


def test_nested_expands_and_names_like_lme4():
    p = parse_formula("y ~ 1 + (1 | batch/cask)")
    assert [t.group for t in p.random] == [("batch",), ("batch", "cask")]
    assert [t.group_name for t in p.random] == ["batch", "cask:batch"]


def test_crossed_terms():
    assert terms("y ~ (1 | a) + (1 | b)") == [(("a",), True, (), True), (("b",), True, (), True)]


def test_fixed_part_defaults_to_intercept():
    assert parse_formula("y ~ (1 | g)").fixed == "1"


def test_function_calls_in_fixed_part_are_kept():
    assert parse_formula("y ~ np.log(x) + C(f) + (1 | g)").fixed == "np.log(x) + C(f)"


@pytest.mark.parametrize(
    "formula, message",
    [
        ("y + (1 | g)", "needs '~'"),
        ("~ x + (1 | g)", "no response"),
        ("y ~ x + (1 | g", "Unbalanced"),
        ("y ~ x + (1 | )", "no grouping factor"),
        ("y ~ x + (0 | g)", "no random effects"),
        ("y ~ x + (log(x) | g)", r"'log\(x\)' is not supported"),
        ("y ~ x + (1 | g) | h", "'\\|' outside parentheses"),
        ("y ~ x * (1 | g)", "must be added to the formula with '+'"),
    ],
)
def test_malformed_formulas_name_the_problem(formula, message):
    with pytest.raises(ValueError, match=message.replace("'+'", r"'\+'")):
        parse_formula(formula)
