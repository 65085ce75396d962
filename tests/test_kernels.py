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
