"""Normalisation: exact percentiles, per-channel axes, params round trip, edge cases."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bioimg.preprocess import (apply_normalization, normalize, normalize_minmax, normalize_percentile,
                               normalize_zscore)
from bioimg.preprocess._percentile import percentiles


def _image(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.gamma(2.0, 300.0, shape).astype(dtype)
    info = np.iinfo(dtype)
    lo, hi = max(info.min, -30000), min(info.max, 60000)
    return rng.integers(lo, hi, shape, endpoint=True).astype(dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.int8, np.int32, np.float32,
                                   np.float64])
@pytest.mark.parametrize("q", [(1.0, 99.8), (0.0, 100.0), (2.5, 50.0), (33.3, 66.6)])
def test_percentiles_equal_numpy(dtype, q):
    x = _image(dtype, (7, 33, 29), seed=int(q[0] * 10))
    assert percentiles(x, q) == [float(np.percentile(x, q[0])), float(np.percentile(x, q[1]))]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 300), q=st.floats(0, 100), seed=st.integers(0, 1000),
       dtype=st.sampled_from([np.uint8, np.uint16, np.int16, np.float32]))
def test_percentiles_equal_numpy_property(n, q, seed, dtype):
    x = _image(dtype, n, seed)
    if x.dtype.kind == "i":  # numpy subtracts neighbours in int16 and can overflow; we do not
        expected = np.percentile(x.astype(np.int64), q)
    else:
        expected = np.percentile(x, q)
    assert percentiles(x, [q]) == [float(expected)]


def test_percentiles_ignore_nan_and_reject_empty():
    x = _image(np.float32, 500)
    x[::9] = np.nan
    assert percentiles(x, [5, 95]) == [float(np.nanpercentile(x, 5)), float(np.nanpercentile(x, 95))]
    with pytest.raises(ValueError, match="empty"):
        percentiles(np.full(4, np.nan), [50])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32])
def test_normalize_percentile_exact_and_per_channel(dtype):
    x = _image(dtype, (3, 20, 24, 2), seed=1)
    out, params = normalize_percentile(x, 2.0, 98.0)
    lo, hi = float(np.percentile(x, 2.0)), float(np.percentile(x, 98.0))
    assert params["low"] == [lo] and params["high"] == [hi] and params["axis"] is None
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, (x.astype(np.float64) - lo) / (hi - lo), rtol=1e-5, atol=1e-5)

    out_c, params_c = normalize_percentile(x, 2.0, 98.0, axis=-1)
    assert params_c["axis"] == 3
    for c in range(2):
        lo, hi = float(np.percentile(x[..., c], 2.0)), float(np.percentile(x[..., c], 98.0))
        assert params_c["low"][c] == lo and params_c["high"][c] == hi
        np.testing.assert_allclose(out_c[..., c], (x[..., c] - lo) / (hi - lo), rtol=1e-5, atol=1e-5)

    _, params_tc = normalize_percentile(x, 2.0, 98.0, axis=(0, 3))
    assert np.shape(params_tc["low"]) == (3, 2) and params_tc["axis"] == [0, 3]
    assert params_tc["low"][2][1] == float(np.percentile(x[2, ..., 1], 2.0))


def test_clip_and_zero_range():
    x = _image(np.uint16, (30, 30))
    out, _ = normalize_percentile(x, clip=True)
    assert out.min() == 0.0 and out.max() == 1.0
    for method in ("percentile", "minmax", "zscore"):
        const, params = normalize(np.full((8, 8), 7, np.uint16), method)
        assert np.isfinite(const).all() and (const == 0).all(), method
        json.dumps(params)


@pytest.mark.parametrize("method, kwargs", [("percentile", {"pmin": 3, "pmax": 97, "clip": True}),
                                            ("zscore", {}), ("minmax", {"clip": False}),
                                            ("none", {})])
@pytest.mark.parametrize("axis", [None, 0])
def test_params_json_round_trip(method, kwargs, axis):
    train = _image(np.uint16, (2, 16, 16), seed=2)
    if method != "none":
        kwargs = dict(kwargs, axis=axis)
    out, params = normalize(train, method, **kwargs)
    stored = json.loads(json.dumps(params))
    assert stored == params
    np.testing.assert_array_equal(apply_normalization(train, stored), out)
    new = _image(np.uint16, (2, 8, 9), seed=3)  # other data: same mapping
    again = apply_normalization(new, stored)
    assert again.dtype == np.float32 and again.shape == new.shape
    if method == "minmax" and axis is None:
        lo, hi = train.min(), train.max()
        np.testing.assert_allclose(again, (new.astype(np.float64) - lo) / (hi - lo), rtol=1e-5)


def test_zscore_and_minmax_values():
    x = _image(np.float32, (4, 50, 40), seed=4)
    z, params = normalize_zscore(x, axis=0)
    for c in range(4):
        assert abs(z[c].mean()) < 1e-4 and abs(z[c].std() - 1) < 1e-4
        assert params["mean"][c] == pytest.approx(float(x[c].astype(np.float64).mean()))
    m, params = normalize_minmax(x)
    assert m.min() == 0.0 and abs(m.max() - 1.0) < 1e-6
    assert params["low"] == [float(x.min())] and params["high"] == [float(x.max())]
    x[0, 0, 0] = np.nan  # NaNs are ignored by the statistics and stay NaN
    m, params = normalize_minmax(x)
    assert np.isnan(m[0, 0, 0]) and np.isfinite(params["low"][0])


def test_errors():
    x = np.zeros((4, 5), np.uint8)
    with pytest.raises(ValueError, match="unknown normalization"):
        normalize(x, "robust")
    with pytest.raises(ValueError, match="pmin"):
        normalize_percentile(x, 90, 10)
    with pytest.raises(ValueError, match="channel axis"):
        normalize_percentile(x, axis=(0, 1))
    with pytest.raises(ValueError, match="out of bounds"):
        normalize_zscore(x, axis=2)
    with pytest.raises(ValueError, match="real-valued"):
        normalize_minmax(np.zeros(3, complex))
    _, params = normalize_percentile(np.zeros((3, 4, 4), np.uint8), axis=0)
    with pytest.raises(ValueError, match="3 channels"):
        apply_normalization(np.zeros((2, 4, 4), np.uint8), params)
    with pytest.raises(ValueError, match="unknown normalization method"):
        apply_normalization(x, {"method": "magic"})


def test_large_image_chunked_threaded_path_is_exact():
    x = _image(np.uint16, (3, 700, 1000), seed=5)  # > 1 Mi elements: threads and chunks
    out, params = normalize_percentile(x, 1.0, 99.0, axis=None)
    lo, hi = params["low"][0], params["high"][0]
    expected = np.subtract(x, np.float32(lo), dtype=np.float32) * np.float32(1.0 / (hi - lo + 1e-20))
    np.testing.assert_array_equal(out, expected)
    out_c, params_c = normalize_minmax(x, axis=0, clip=True)
    assert out_c.min() == 0.0 and out_c.max() == 1.0
