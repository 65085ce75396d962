"""Compiled kernels against the numpy rules they replace, on random inputs rich in ties."""
from __future__ import annotations

import numpy as np
import pytest

from sim.capacity import ration

kernels = pytest.importorskip("sim.kernels")


@pytest.mark.parametrize("seed", range(20))
def test_compiled_rationing_serves_exactly_whom_the_numpy_rule_serves(seed):
    rng = np.random.default_rng(seed)
    n, n_keys = int(rng.integers(1, 300)), int(rng.integers(1, 12))
    key = rng.integers(0, n_keys, n)
    capacity = rng.integers(0, 40, n_keys).astype(float) + rng.choice([0.0, 0.5, 1e-10], n_keys)
    capacity[rng.random(n_keys) < 0.2] = np.inf
    severity = rng.integers(1, 5, 2 * n).astype(np.int8)
    waited = rng.integers(0, 4, n)
    rn = rng.random((2 * n, 13))
    rn[rng.random(2 * n) < 0.3, 9] = 0.5                 # equal order numbers: the original order decides
    go = rng.permutation(2 * n)[:n]
    expected = ration(key, capacity, severity[go], waited, rn[go, 9])
    got = kernels.ration(key, capacity, go, severity, rn, 9, waited)
    assert got.dtype == bool and np.array_equal(got, expected)
    assert (~got).any() or not (np.bincount(key, minlength=n_keys) > np.floor(capacity + 1e-9)).any()


def test_compiled_rationing_with_nobody_arriving():
    got = kernels.ration(np.zeros(0, dtype=np.int64), np.ones(3), np.zeros(0, dtype=np.int64),
                         np.ones(1, dtype=np.int8), np.zeros((1, 13)), 9, np.zeros(0, dtype=np.int64))
    assert got.size == 0


def test_a_compiled_draw_from_a_numpy_generator_is_numpys_draw():
    """The round kernels draw a stream's numbers inside compiled code (sim.kernels.choose_arrive): numba
    must give numpy's numbers and leave the generator where numpy leaves it, or the engines part ways."""
    from numba import njit

    @njit
    def two_draws(rng, n, m):
        first = np.zeros(0)
        if n > 0:
            first = rng.random(n)
        return first, rng.random(m)

    for n, m in ((0, 3), (5, 1), (1000, 17)):
        compiled, reference = np.random.default_rng(n + 11), np.random.default_rng(n + 11)
        a, b = two_draws(compiled, n, m)
        assert np.array_equal(a, reference.random(n) if n else np.zeros(0))
        assert np.array_equal(b, reference.random(m))
        assert compiled.random() == reference.random()
