"""Every fixed fit of ``tests/_baseline.py`` reproduces its recorded numbers."""

import numpy as np
import pytest
from _baseline import PATH, cases, collect

CASES = cases()


@pytest.fixture(scope="module")
def recorded():
    with np.load(PATH) as data:
        return {key: data[key] for key in data.files}


def test_every_case_is_recorded(recorded):
    assert {key.split("/")[0] for key in recorded} == set(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_fit_reproduces_baseline(case, recorded):
    if "torch" in case:
        pytest.importorskip("torch")
    got = collect(*CASES[case])
    expected = {
        key.split("/", 1)[1]: value
        for key, value in recorded.items() if key.startswith(case + "/")
    }
    assert set(got) == set(expected)
    for key, want in expected.items():
        have = got[key]
        assert have.shape == want.shape, key
        finite = np.abs(want[np.isfinite(want)])
        # Entries near 0 (and collapsed rounds, exactly 0) carry round-off of
        # the size of the array's largest entry.
        floor = 1e-12 * (finite.max() if finite.size else 1.0)
        np.testing.assert_allclose(
            have, want, rtol=1e-12, atol=floor, err_msg=f"{case}: {key}"
        )
