"""Upper tails of count distributions, in pure Python (no SciPy needed at run time).

``negbin_sf(k, mean, var)`` is P(X >= k) for a negative binomial with that mean and variance (method of
moments: r = mean² / (var − mean), p = r / (r + mean)); with var <= mean it is the Poisson tail. The sums run
over the probability mass in log space, from whichever side is shorter, so tails down to 1e-300 stay exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable

MAX_TERMS = 200_000


def _ceil_count(x: float) -> int:
    return max(0, math.ceil(x - 1e-9))


def _tail(k: int, mean: float, log_pmf: Callable[[int], float], ratio: Callable[[int], float]) -> float:
    """P(X >= k) given the log pmf and the ratio pmf(j+1)/pmf(j)."""
    if k <= 0:
        return 1.0
    if k <= mean:  # the lower side is shorter: 1 - P(X < k)
        term = math.exp(log_pmf(0))
        below = 0.0
        for j in range(k):
            below += term
            term *= ratio(j)
        return max(0.0, 1.0 - below)
    term = math.exp(log_pmf(k))
    total = 0.0
    j = k
    while term > 0 and j < k + MAX_TERMS:
        total += term
        term *= ratio(j)
        j += 1
        if term < total * 1e-17:
            break
    return min(1.0, total)


def poisson_sf(x: float, mu: float) -> float:
    """P(X >= x) for X ~ Poisson(mu)."""
    k = _ceil_count(x)
    if mu <= 0:
        return 1.0 if k == 0 else 0.0
    return _tail(k, mu, lambda j: j * math.log(mu) - mu - math.lgamma(j + 1), lambda j: mu / (j + 1))


def negbin_sf(x: float, mean: float, var: float) -> float:
    """P(X >= x) for a negative binomial of this mean and variance (Poisson when not over-dispersed)."""
    if mean <= 0 or var <= mean * (1 + 1e-9):
        return poisson_sf(x, mean)
    r = mean * mean / (var - mean)
    p = r / (r + mean)
    log_p, log_q = math.log(p), math.log1p(-p)

    def log_pmf(j: int) -> float:
        return math.lgamma(j + r) - math.lgamma(r) - math.lgamma(j + 1) + r * log_p + j * log_q

    q = 1.0 - p
    return _tail(_ceil_count(x), mean, log_pmf, lambda j: (j + r) / (j + 1) * q)


def tail_probability(x: float, mean: float, var: float, *, method: str) -> float:
    return poisson_sf(x, mean) if method == "poisson" else negbin_sf(x, mean, var)


def smallest_surprising(mean: float, var: float, alpha: float, *, method: str) -> int:
    """The smallest count k with P(X >= k) <= alpha (the control limit drawn on charts)."""
    low, high = 0, max(1, math.ceil(mean + 10 * math.sqrt(max(var, mean, 1.0))))
    while tail_probability(high, mean, var, method=method) > alpha:
        low, high = high, high * 2
    while low < high:
        mid = (low + high) // 2
        if tail_probability(mid, mean, var, method=method) <= alpha:
            high = mid
        else:
            low = mid + 1
    return low
