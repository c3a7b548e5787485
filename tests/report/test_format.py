"""Numbers shown to the precision their interval supports; columns named for people."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from rollout.report.format import decimals_for, estimate, interval, label, number, readable, share


@pytest.mark.parametrize(("se", "decimals"), [(158.0, 0), (15.8, 0), (1.58, 1), (0.158, 2),
                                             (0.0158, 3), (0.99, 2), (1.0, 1), (9.99, 1)])
def test_two_significant_digits_of_the_se(se, decimals) -> None:
    assert decimals_for(se) == decimals
    # the SE shown with those decimals has exactly two significant digits (or three at 9.95+)
    digits = len(f"{se:.{decimals}f}".replace(".", "").lstrip("0"))
    assert digits in (2, 3)


def test_rounding_follows_the_se_not_the_value() -> None:
    assert estimate(0.620877140114195, 0.01) == "0.621"
    assert estimate(2874.4, 300.0) == "2,874"
    assert interval(-1.93, 41.62, 11.1) == "[-2, 42]"
    assert number(-0.0004, decimals=2) == "0"


def test_missing_values_are_dashes_never_nan_or_none() -> None:
    assert {number(float("nan")), number(None), number(math.inf), share(float("nan"))} == {"—"}


def test_labels_are_words() -> None:
    assert label("aipw_ci_high") == "DR 95% CI high"
    assert label("n_treated") == "Treated"
    assert label("weird_column", {"weird_column": "Renamed"}) == "Renamed"


def test_readable_rounds_each_row_by_its_own_se() -> None:
    frame = pd.DataFrame({"estimate": [30.41, 1.18342], "se": [15.8, 0.061],
                          "share": [0.4131, 0.05]})
    shown = readable(frame)
    assert shown["Estimate"].tolist() == ["30", "1.183"]
    assert shown["Share of customers"].tolist() == ["41.3%", "5.0%"]
