"""The draw of the Nystroem landmarks: ``m`` row indices out of ``n``.

Both the in-memory solver and the dask path call :func:`landmark_index`, so
the same ``random_state`` picks the same rows of the same data however they
are stored. Up to :data:`PERMUTATION_MAX_ROWS` rows the draw is NumPy's
``RandomState.choice(n, m, replace=False)``, which permutes all ``n`` indices
(8 bytes a row); above it, :func:`_distinct_draws` draws a uniform ``m``-subset
in ``O(m)`` memory and expected ``O(m log m)`` time.
"""

import numpy as np

__all__ = ["PERMUTATION_MAX_ROWS", "landmark_index"]

#: Largest ``n_samples`` drawn by permuting every index (2**24 rows: a
#: 128 MB permutation). At or below it an in-memory ``X`` with ``p`` features
#: takes ``p`` times the permutation's memory, so the permutation costs at most
#: one more column of ``X``, and the landmarks of every fit of that size stay
#: those this package has always drawn. Above it the rows usually live on a
#: cluster and the client holds ``O(m^2)`` floats, which the permutation
#: (at least 128 MB, 800 MB at 100 million rows) would dominate.
PERMUTATION_MAX_ROWS = 2**24


def landmark_index(n_samples, n_components, random_state):
    """Sorted indices of the Nystroem landmarks among ``n_samples`` rows.

    Drawn by index only, so that the same ``random_state`` picks the same rows
    of the same data however they are stored (in memory or in blocks). Every
    ``n_components``-subset of ``range(n_samples)`` is equally likely.

    Parameters
    ----------
    n_samples : int
        Number of rows ``n``.
    n_components : int
        Number of landmarks ``m``; ``m >= n`` takes every row.
    random_state : numpy.random.RandomState
        Source of the draw (advanced by it).

    Returns
    -------
    index : ndarray of shape (min(m, n),), dtype intp
        Distinct row indices in increasing order.

    Notes
    -----
    Up to :data:`PERMUTATION_MAX_ROWS` rows (and whenever ``2 m > n``, where
    the permutation's ``8 n`` bytes are below ``16 m``) this is
    ``np.sort(random_state.choice(n, m, replace=False))``, unchanged since the
    first release. Above it no permutation of ``n`` integers is formed:
    :func:`_distinct_draws` keeps the first ``m`` distinct values of a
    sequence of independent uniform draws.
    """
    if n_components >= n_samples:
        return np.arange(n_samples, dtype=np.intp)
    if n_samples <= PERMUTATION_MAX_ROWS or 2 * n_components > n_samples:
        index = random_state.choice(n_samples, size=n_components, replace=False)
    else:
        index = _distinct_draws(n_samples, n_components, random_state)
    return np.sort(index).astype(np.intp, copy=False)


def _distinct_draws(n, m, random_state):
    """The first ``m`` distinct values of i.i.d. uniform draws from ``range(n)``.

    Relabelling ``range(n)`` by any permutation leaves the distribution of
    the draws unchanged and maps the set of their first ``m`` distinct values
    to its image, so that set is a uniformly random ``m``-subset. Draws come
    in batches sized for the expected share of new values (more than half
    while ``2 m <= n``); a batch's values past the ``m``-th new one are
    discarded, which is exactly stopping the sequence there. Memory is a few
    arrays of about ``m`` integers.
    """
    chosen = np.empty(0, dtype=np.int64)
    while chosen.shape[0] < m:
        need = m - chosen.shape[0]
        fresh = (n - chosen.shape[0]) / n
        size = int(need / fresh * 1.05) + 16
        batch = random_state.randint(0, n, size=size, dtype=np.int64)
        draws = np.concatenate([chosen, batch])
        # Index of the first occurrence of each value, in order of drawing.
        first = np.sort(np.unique(draws, return_index=True)[1])
        chosen = draws[first[:m]]
    return chosen
