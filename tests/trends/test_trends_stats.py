"""The surge detector's tail probabilities agree with SciPy (which is not needed at run time)."""

from __future__ import annotations

import math

import pytest

from monitor.trends.stats import negbin_sf, poisson_sf, smallest_surprising

CASES = [  # (observed, mean, variance)
    (53, 26.9, 70.0), (84, 26.9, 70.0), (27, 26.9, 70.0), (500, 26.9, 70.0), (10, 3.8, 10.0),
    (3, 0.042, 0.042), (1, 0.5, 0.5), (5, 0.3, 2.0), (31, 2.2, 9.2), (0, 4.0, 9.0), (12.4, 3.0, 3.0),
]


@pytest.mark.parametrize(("x", "mean", "var"), CASES)
def test_tails_match_scipy(x: float, mean: float, var: float) -> None:
    stats = pytest.importorskip("scipy.stats")
    k = math.ceil(x)
    if var > mean:
        r = mean * mean / (var - mean)
        expected = stats.nbinom.sf(k - 1, r, r / (r + mean))
    else:
        expected = stats.poisson.sf(k - 1, mean)
    assert negbin_sf(x, mean, var) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_over_dispersion_makes_the_same_count_less_surprising() -> None:
    assert negbin_sf(53, 26.9, 70.0) > 100 * poisson_sf(53, 26.9)


@pytest.mark.parametrize(("mean", "var", "alpha"), [(26.9, 70.0, 1e-3), (0.4, 1.7, 1e-3), (3.0, 3.0, 1e-6)])
def test_the_control_limit_is_the_smallest_count_below_alpha(mean: float, var: float, alpha: float) -> None:
    limit = smallest_surprising(mean, var, alpha, method="negbin")
    assert negbin_sf(limit, mean, var) <= alpha < negbin_sf(limit - 1, mean, var)
