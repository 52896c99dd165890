"""The draw of the Nystroem landmarks: unchanged up to the threshold, O(m) above."""

import itertools
import tracemalloc

import numpy as np
import pytest
from scipy import stats

from sklearn_selfdistill import _landmarks
from sklearn_selfdistill._landmarks import PERMUTATION_MAX_ROWS, landmark_index
from sklearn_selfdistill._solvers import landmark_index as solvers_landmark_index


def _old_draw(n, m, seed):
    return np.sort(np.random.RandomState(seed).choice(n, m, replace=False))


@pytest.mark.parametrize("n, m", [(60, 25), (1000, 999), (5000, 7), (100_000, 1000)])
@pytest.mark.parametrize("seed", [0, 3, 12345])
def test_below_threshold_is_the_old_draw(n, m, seed):
    got = landmark_index(n, m, np.random.RandomState(seed))
    np.testing.assert_array_equal(got, _old_draw(n, m, seed))
    assert got.dtype == np.intp


def test_at_the_threshold_is_the_old_draw(monkeypatch):
    """``n == PERMUTATION_MAX_ROWS`` permutes; one row more does not."""
    monkeypatch.setattr(_landmarks, "PERMUTATION_MAX_ROWS", 1000)
    old = landmark_index(1000, 10, np.random.RandomState(5))
    np.testing.assert_array_equal(old, _old_draw(1000, 10, 5))
    new = landmark_index(1001, 10, np.random.RandomState(5))
    assert not np.array_equal(new, _old_draw(1001, 10, 5))


def test_threshold_value():
    # 2**24 rows: a 128 MB permutation of int64 indices.
    assert PERMUTATION_MAX_ROWS == 2**24
    assert solvers_landmark_index is landmark_index


@pytest.mark.parametrize("n", [10**9, 2**40])
def test_above_threshold_is_a_sorted_subset(n):
    m = 1000
    got = landmark_index(n, m, np.random.RandomState(0))
    assert got.shape == (m,) and got.dtype == np.intp
    assert np.all(np.diff(got) > 0)  # sorted and distinct
    assert got[0] >= 0 and got[-1] < n
    # Spread over the whole range, not the start of it: a uniform m-subset's
    # largest element exceeds n (1 - 10 / m) with probability 1 - 4.5e-5.
    assert got[-1] > n * (1 - 10 / m)
    again = landmark_index(n, m, np.random.RandomState(0))
    np.testing.assert_array_equal(got, again)
    other = landmark_index(n, m, np.random.RandomState(1))
    assert np.intersect1d(got, other).shape[0] < 5


@pytest.mark.parametrize("limit", [PERMUTATION_MAX_ROWS, 3])
def test_all_rows_when_m_reaches_n(monkeypatch, limit):
    monkeypatch.setattr(_landmarks, "PERMUTATION_MAX_ROWS", limit)
    for m in (5, 6):
        got = landmark_index(5, m, np.random.RandomState(0))
        np.testing.assert_array_equal(got, np.arange(5))
        assert got.dtype == np.intp


@pytest.mark.parametrize("m", [1000, 20_000])
def test_above_threshold_memory_is_of_order_m(m):
    n = 10**9
    landmark_index(n, m, np.random.RandomState(0))  # warm up imports
    tracemalloc.start()
    try:
        landmark_index(n, m, np.random.RandomState(0))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # A few arrays of m int64 (measured: about 66 bytes per landmark); the
    # permutation would be 8 GB.
    assert peak < 128 * m, peak
    if m == 1000:
        assert peak < 1_000_000


def test_large_fraction_above_threshold_still_permutes(monkeypatch):
    """With ``2 m > n`` the permutation (8 n < 16 m bytes) draws."""
    monkeypatch.setattr(_landmarks, "PERMUTATION_MAX_ROWS", 10)
    np.testing.assert_array_equal(
        landmark_index(40, 21, np.random.RandomState(2)), _old_draw(40, 21, 2)
    )
    assert not np.array_equal(
        landmark_index(40, 20, np.random.RandomState(2)), _old_draw(40, 20, 2)
    )


def test_every_subset_is_equally_likely(monkeypatch):
    """Chi-square over all 56 subsets of 3 among 8 (the draw above the threshold)."""
    monkeypatch.setattr(_landmarks, "PERMUTATION_MAX_ROWS", 4)
    n, m, draws = 8, 3, 28_000
    subsets = {s: i for i, s in enumerate(itertools.combinations(range(n), m))}
    counts = np.zeros(len(subsets))
    rng = np.random.RandomState(0)
    for _ in range(draws):
        counts[subsets[tuple(landmark_index(n, m, rng))]] += 1
    assert counts.min() > 0
    p_value = stats.chisquare(counts).pvalue
    assert p_value > 1e-3, p_value


def test_inclusion_and_pair_frequencies(monkeypatch):
    """Each index in with probability m / n, each pair with m (m-1) / (n (n-1))."""
    monkeypatch.setattr(_landmarks, "PERMUTATION_MAX_ROWS", 10)
    n, m, draws = 30, 9, 20_000
    rng = np.random.RandomState(1)
    member = np.zeros((draws, n))
    for k in range(draws):
        member[k, landmark_index(n, m, rng)] = 1.0
    p = m / n
    single = member.sum(axis=0)
    sd = np.sqrt(draws * p * (1 - p))
    assert np.max(np.abs(single - draws * p)) < 5 * sd
    q = m * (m - 1) / (n * (n - 1))
    pairs = (member.T @ member)[np.triu_indices(n, 1)]
    sd_pair = np.sqrt(draws * q * (1 - q))
    assert np.max(np.abs(pairs - draws * q)) < 5 * sd_pair


def test_many_collisions_terminate(monkeypatch):
    """Half of the rows, drawn by rejection: still exactly m distinct."""
    monkeypatch.setattr(_landmarks, "PERMUTATION_MAX_ROWS", 100)
    got = landmark_index(20_000, 10_000, np.random.RandomState(0))
    assert got.shape == (10_000,)
    assert np.all(np.diff(got) > 0) and got[0] >= 0 and got[-1] < 20_000
