"""anisotropic_diffusion: medpy agreement, invariants, spacing, options, threads."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage as ndi

import bioimg.preprocess._diffusion_jit as jit
import bioimg.preprocess._diffusion_kernel as kernel
import bioimg.preprocess._diffusion_parallel as parallel
from bioimg.preprocess import anisotropic_diffusion, stability_limit


def medpy_reference(img, niter, kappa, gamma, option):
    """Direct port of medpy.filter.smoothing.anisotropic_diffusion's loop (unit spacing), float64."""
    out = np.array(img, dtype=np.float64)
    deltas = [np.zeros_like(out) for _ in range(out.ndim)]
    for _ in range(niter):
        for i in range(out.ndim):  # forward differences, zero at the far border
            sl = tuple(slice(None, -1) if j == i else slice(None) for j in range(out.ndim))
            deltas[i][sl] = np.diff(out, axis=i)
        if option == 1:
            matrices = [np.exp(-(d / kappa) ** 2.0) * d for d in deltas]
        else:
            matrices = [1.0 / (1.0 + (d / kappa) ** 2.0) * d for d in deltas]
        for i in range(out.ndim):  # backward difference; the flux before the first voxel is zero
            sl = tuple(slice(1, None) if j == i else slice(None) for j in range(out.ndim))
            matrices[i][sl] = np.diff(matrices[i], axis=i)
        out += gamma * np.sum(matrices, axis=0)
    return out


def rel_err(a, b):
    return float(np.abs(np.asarray(a, np.float64) - b).max() / np.abs(b).max())


@pytest.fixture(params=["jit", "numpy"])
def impl(request, monkeypatch):
    """Run a test with the compiled kernel (where numba is installed) and with numpy's."""
    if request.param == "jit" and not jit.ENABLED:
        pytest.skip("numba is not installed")
    if request.param == "numpy":
        monkeypatch.setattr(jit, "ENABLED", False)
    return request.param


@pytest.fixture
def small_units(monkeypatch):
    """Tiny cache blocks and thread thresholds, so small arrays use every code path."""
    monkeypatch.setattr(kernel, "UNIT_BYTES", 600)
    monkeypatch.setattr(parallel, "THREAD_UNIT_BYTES", 900)
    monkeypatch.setattr(parallel, "MIN_ELEMENTS_PER_THREAD", 16)
    monkeypatch.setattr(parallel, "JIT_MIN_ELEMENTS_PER_THREAD", 16)


@pytest.mark.parametrize("shape", [(48, 37), (9, 20, 17), (50,), (3, 4, 5, 6)])
@pytest.mark.parametrize("option", [1, 2])
@pytest.mark.parametrize("scale", [255, 60000])  # exp2 path / exp path (large value range)
def test_matches_medpy(impl, shape, option, scale):
    rng = np.random.default_rng(sum(shape) + option)
    img = (rng.random(shape) * scale).astype(np.float32)
    img[tuple(slice(0, n // 2) for n in shape)] += scale / 2  # an edge
    got = anisotropic_diffusion(img, niter=8, kappa=0.2 * scale, gamma=0.1, option=option)
    assert got.dtype == np.float32
    assert rel_err(got, medpy_reference(img, 8, 0.2 * scale, 0.1, option)) < 1e-4


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_all_code_paths_match_medpy(impl, small_units, workers):
    rng = np.random.default_rng(3)
    for shape in [(30, 41), (7, 12, 9)]:
        img = rng.random(shape).astype(np.float32) * 100
        for option in (1, 2):
            got = anisotropic_diffusion(img, 6, 20, 0.12, option, workers=workers)
            assert rel_err(got, medpy_reference(img, 6, 20, 0.12, option)) < 1e-4


def test_result_independent_of_threads_and_blocking(impl, monkeypatch):
    rng = np.random.default_rng(4)
    img = rng.random((11, 26, 19)).astype(np.float32) * 255
    ref = anisotropic_diffusion(img, 7, 30, 0.1, workers=1)
    monkeypatch.setattr(parallel, "MIN_ELEMENTS_PER_THREAD", 1)
    monkeypatch.setattr(parallel, "JIT_MIN_ELEMENTS_PER_THREAD", 1)
    for unit in (64, 700, 5000):
        for sync in (0.0, 1.0):  # many short rounds (halo exchange) / one long round
            monkeypatch.setattr(kernel, "UNIT_BYTES", unit)
            monkeypatch.setattr(parallel, "THREAD_UNIT_BYTES", unit)
            monkeypatch.setattr(parallel, "SYNC_SECONDS", sync)
            for workers in (1, 2, 4):
                assert np.array_equal(anisotropic_diffusion(img, 7, 30, 0.1, workers=workers), ref)


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 9), min_size=1, max_size=3), option=st.sampled_from([1, 2]),
       niter=st.integers(0, 5), seed=st.integers(0, 2**16))
def test_property_matches_medpy(shape, option, niter, seed):
    img = np.random.default_rng(seed).normal(100, 30, shape)
    got = anisotropic_diffusion(img, niter, 25, 0.1, option, dtype=np.float64)
    np.testing.assert_allclose(got, medpy_reference(img, niter, 25, 0.1, option), rtol=1e-9, atol=1e-9)


def test_constant_image_unchanged_and_mean_preserved():
    const = np.full((20, 30), 123.0, np.float32)
    np.testing.assert_allclose(anisotropic_diffusion(const, 20), 123.0, rtol=1e-6)
    rng = np.random.default_rng(5)
    img = rng.random((16, 24, 20)) * 1000
    out = anisotropic_diffusion(img, 30, kappa=100, gamma=1 / 6)
    assert abs(out.astype(np.float64).mean() - img.mean()) < 1e-5 * img.mean()  # zero-flux borders
    assert out.std() < img.std()


def test_keeps_edges_better_than_gaussian():
    rng = np.random.default_rng(6)
    clean = np.zeros((64, 64))
    clean[:, 32:] = 100
    noisy = clean + rng.normal(0, 5, clean.shape)
    flat = np.s_[:, 4:24]
    out = anisotropic_diffusion(noisy, niter=30, kappa=15, gamma=0.2)
    target = out[flat].std()
    lo, hi = 0.1, 20.0  # Gaussian sigma giving the same noise reduction in the flat region
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if ndi.gaussian_filter(noisy, mid)[flat].std() > target else (lo, mid)
    gauss = ndi.gaussian_filter(noisy, hi)
    jump = lambda a: float((a[:, 32] - a[:, 31]).mean())  # noqa: E731
    assert target < noisy[flat].std() / 3
    assert jump(out) > 80 and jump(out) > 3 * jump(gauss)


def test_spacing_invariance():
    """A smooth blob sampled on a coarse and a fine (anisotropic) grid diffuses the same."""
    def blob(hy):
        y = np.arange(-32, 32, hy)[:, None]
        x = np.arange(-32, 32, 1.0)[None, :]
        return 100 * np.exp(-(y**2 + x**2) / (2 * 6.0**2))

    coarse, fine = blob(1.0), blob(0.5)  # fine[::2] samples the same points as coarse
    # Gradients reach 10 per unit: g is far from 1 (nonlinear), yet below kappa/sqrt(2),
    # where Perona-Malik turns backward (sharpening) and any discretisation depends on the grid.
    kw = dict(niter=40, kappa=15.0, gamma=0.05)
    a = anisotropic_diffusion(coarse, spacing=(1.0, 1.0), **kw)
    b = anisotropic_diffusion(fine, spacing=(0.5, 1.0), **kw)
    naive = anisotropic_diffusion(fine, **kw)  # spacing ignored: Y diffuses 4x slower
    linear = anisotropic_diffusion(coarse, niter=40, kappa=1e9, gamma=0.05)
    change = np.abs(a - coarse).max()
    assert change > 5 and np.abs(linear - a).max() > 0.1 * change
    assert np.abs(b[::2] - a).max() < 0.01 * change
    assert np.abs(naive[::2] - a).max() > 0.2 * change


def test_stability_limit_and_warning():
    assert stability_limit((1, 1)) == 0.25
    assert stability_limit((1, 1, 1)) == pytest.approx(1 / 6)
    assert stability_limit((2.0, 1.0, 1.0)) == pytest.approx(1 / (2 * (0.25 + 2)))
    img = np.random.default_rng(7).random((20, 20)).astype(np.float32) * 100
    with pytest.warns(UserWarning, match="stability"):
        out = anisotropic_diffusion(img, 5, 20, gamma=0.4)
    np.testing.assert_array_equal(out, anisotropic_diffusion(img, 5, 20, gamma=0.25))
    with pytest.warns(UserWarning):
        anisotropic_diffusion(img, 1, 20, gamma=0.1, spacing=(0.5, 0.5))  # limit 1/16
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        anisotropic_diffusion(img, 1, 20, gamma=0.25)  # exactly at the limit: fine
        anisotropic_diffusion(img[:, :1], 1, 20, gamma=0.5)  # 1 active axis: limit 1/2


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float64, bool])
def test_float32_out_for_any_input(dtype):
    img = (np.random.default_rng(8).random((12, 10)) * 200).astype(dtype)
    before = img.copy()
    out = anisotropic_diffusion(img, 3)
    assert out.dtype == np.float32 and out.shape == img.shape
    np.testing.assert_array_equal(img, before)  # input untouched
    assert rel_err(out, medpy_reference(img.astype(np.float64), 3, 50, 0.1, 1)) < 1e-4
    assert anisotropic_diffusion(img, 3, dtype=np.float64).dtype == np.float64
    np.testing.assert_array_equal(anisotropic_diffusion(img, 0), img.astype(np.float32))


def test_axis_diffuses_planes_and_channels_separately():
    rng = np.random.default_rng(9)
    stack = rng.random((4, 16, 18)).astype(np.float32) * 100
    stack[1] += 1000  # a bright time point must not leak into its neighbours
    out = anisotropic_diffusion(stack, 5, 30, 0.2, axis=0)
    for t in range(4):
        np.testing.assert_allclose(out[t], anisotropic_diffusion(stack[t], 5, 30, 0.2), rtol=1e-6)
    chan_last = np.moveaxis(stack, 0, -1)
    out_c = anisotropic_diffusion(chan_last, 5, 30, 0.2, axis=-1)
    assert out_c.flags.c_contiguous
    np.testing.assert_allclose(np.moveaxis(out_c, -1, 0), out, rtol=1e-6)
    sp = anisotropic_diffusion(stack, 3, 30, 0.1, spacing=(2.0, 1.0), axis=0)
    np.testing.assert_allclose(sp[2], anisotropic_diffusion(stack[2], 3, 30, 0.1, spacing=(2.0, 1.0)),
                               rtol=1e-6)


@pytest.mark.parametrize("workers", [1, 2])
def test_progress_and_cancel(small_units, workers):
    img = np.random.default_rng(10).random((40, 30)).astype(np.float32) * 100
    calls = []
    out = anisotropic_diffusion(img, 6, progress=lambda i, n: calls.append((i, n)), workers=workers)
    assert calls == [(i, 6) for i in range(1, 7)]
    np.testing.assert_array_equal(out, anisotropic_diffusion(img, 6, workers=workers))
    done = []
    stopped = anisotropic_diffusion(img, 50, progress=lambda i, n: done.append(i),
                                    cancel=lambda: len(done) >= 3, workers=workers)
    assert 3 <= len(done) < 50
    np.testing.assert_array_equal(stopped, anisotropic_diffusion(img, len(done), workers=1))
    np.testing.assert_array_equal(anisotropic_diffusion(img, 5, cancel=lambda: True), img)


def test_errors_propagate_from_progress_callback():
    def boom(i, n):
        raise RuntimeError("stop here")
    with pytest.raises(RuntimeError, match="stop here"):
        anisotropic_diffusion(np.zeros((8, 8)), 3, progress=boom)


def test_nan_spreads_without_crash(impl):
    img = np.ones((15, 15), np.float32)
    img[7, 7] = np.nan
    out = anisotropic_diffusion(img, 2)
    assert np.isnan(out).sum() == 13  # a diamond of radius 2
    assert np.isfinite(out[0]).all()


@pytest.mark.parametrize("kwargs, match", [
    (dict(option=3), "option"), (dict(kappa=0), "kappa"), (dict(niter=-1), "niter"),
    (dict(spacing=(1.0,)), "spacing"), (dict(spacing=(1.0, -2.0)), "spacing"),
    (dict(axis=5), "axis"), (dict(axis=(0, 1)), "at least one axis"), (dict(dtype=np.int32), "dtype"),
    (dict(gamma=float("nan")), "gamma")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        anisotropic_diffusion(np.zeros((6, 6)), **kwargs)
    with pytest.raises(ValueError, match="real-valued"):
        anisotropic_diffusion(np.zeros((6, 6), complex))


@pytest.mark.timeout(120)
def test_threads_never_deadlock_on_cancel_or_error(small_units):
    """Regression: a fast worker 0 deciding to stop must not strand slow workers at a barrier."""
    img = np.random.default_rng(11).random((40, 30)).astype(np.float32) * 100
    for trial in range(60):
        k = trial % 7 + 1
        for workers in (2, 3):
            done = []
            anisotropic_diffusion(img, 40, progress=lambda i, n: done.append(i),
                                  cancel=lambda: len(done) >= k, workers=workers)

            def boom(i, n):
                if i == k:
                    raise KeyError("boom")
            with pytest.raises(KeyError):
                anisotropic_diffusion(img, 20, progress=boom, workers=workers)


def test_extreme_kappa(impl):
    img = np.random.default_rng(12).random((20, 24)).astype(np.float32) * 255
    frozen = anisotropic_diffusion(img, 5, kappa=1e-30)  # every gradient is an edge
    np.testing.assert_allclose(frozen, img, rtol=1e-5)
    linear = anisotropic_diffusion(img, 5, kappa=1e30)  # g = 1: plain heat equation
    assert rel_err(linear, medpy_reference(img, 5, 1e30, 0.1, 1)) < 1e-4


@pytest.mark.skipif(not jit.ENABLED, reason="numba is not installed")
@pytest.mark.parametrize("shape, spacing", [((40, 33), (1.0, 1.0)), ((6, 9, 11), (3.0, 1.0, 0.7)),
                                            ((70,), (2.0,)), ((5, 1, 12), (1.0, 1.0, 1.0))])
@pytest.mark.parametrize("option", [1, 2])
def test_compiled_kernel_agrees_with_numpy_kernel(monkeypatch, shape, spacing, option):
    """Sharp edges (conductance underflows to 0), a wide value range and both options."""
    rng = np.random.default_rng(len(shape) + option)
    img = rng.random(shape).astype(np.float32) * 100
    img[tuple(slice(0, n // 2) for n in shape)] += 1e6  # w far beyond exp2's range
    assert jit.available(np.float32, len(shape))
    fast = anisotropic_diffusion(img, 6, 30, 0.1, option, spacing=spacing)
    monkeypatch.setattr(jit, "ENABLED", False)
    slow = anisotropic_diffusion(img, 6, 30, 0.1, option, spacing=spacing)
    np.testing.assert_allclose(fast, slow, rtol=2e-6, atol=1e-3)


def test_float64_and_high_rank_use_the_numpy_kernel():
    assert not jit.available(np.float64, 2)
    assert not jit.available(np.float32, 4)


def test_broken_numba_falls_back_to_numpy_with_a_warning(monkeypatch):
    import sys

    monkeypatch.setattr(jit, "ENABLED", True)
    monkeypatch.setattr(jit, "_compiled", {})
    monkeypatch.setitem(sys.modules, "bioimg.preprocess._diffusion_sweep", None)  # import fails
    img = np.random.default_rng(13).random((20, 24)).astype(np.float32) * 255
    with pytest.warns(RuntimeWarning, match="numba could not be used"):
        out = anisotropic_diffusion(img, 4, 30, 0.1)
    assert not jit.ENABLED
    assert rel_err(out, medpy_reference(img, 4, 30, 0.1, 1)) < 1e-4
