"""rescale_to_isotropic and threshold helpers."""
import numpy as np
import pytest
from skimage import filters

from bioimg.preprocess import rescale_to_isotropic, threshold, threshold_value


def test_isotropic_shape_spacing_and_extent():
    vol = np.random.default_rng(0).random((6, 20, 30)).astype(np.float32)
    out, sp = rescale_to_isotropic(vol, (2.5, 0.5, 0.5))
    assert out.shape == (30, 20, 30) and out.dtype == np.float32
    assert sp == (0.5, 0.5, 0.5)
    out, sp = rescale_to_isotropic(vol, (2.5, 0.5, 0.5), target=1.0)
    assert out.shape == (15, 10, 15)
    assert np.allclose(np.multiply(out.shape, sp), np.multiply(vol.shape, (2.5, 0.5, 0.5)))
    odd, sp = rescale_to_isotropic(np.zeros((7, 9)), (1.0, 0.7))
    assert odd.shape == (10, 9) and sp == pytest.approx((0.7, 0.7))  # 7 / 10 = 0.7


def test_linear_ramp_stays_linear_and_constant_stays_constant():
    z = np.arange(8, dtype=np.float64)[:, None, None] * np.ones((1, 4, 4))
    out, _ = rescale_to_isotropic(z, (2.0, 1.0, 1.0))
    inner = out[1:-1, 0, 0]  # pixel-area geometry: centres at (i + 0.5) / 2 - 0.5
    expected = (np.arange(16)[1:-1] + 0.5) / 2 - 0.5
    np.testing.assert_allclose(inner, expected, atol=1e-5)
    const, _ = rescale_to_isotropic(np.full((4, 6), 9, np.uint16), (3.0, 1.0))
    assert const.shape == (12, 6) and np.all(const == 9)


def test_labels_keep_dtype_and_values():
    labels = np.zeros((5, 12, 12), np.uint16)
    labels[1:4, 2:6, 2:6] = 7
    labels[2:5, 7:11, 6:10] = 300
    out, sp = rescale_to_isotropic(labels, (3.0, 1.0, 1.0), order=0)
    assert out.dtype == np.uint16 and out.shape == (15, 12, 12) and sp == (1.0, 1.0, 1.0)
    assert set(np.unique(out)) == {0, 7, 300}
    mask, _ = rescale_to_isotropic(labels > 0, (3.0, 1.0, 1.0), order=0)
    assert mask.dtype == bool and mask.sum() == 3 * (labels > 0).sum()


def test_leading_channel_axes_are_not_resampled():
    img = np.random.default_rng(1).random((2, 3, 4, 5)).astype(np.float32)  # C, Z, Y, X
    out, sp = rescale_to_isotropic(img, (2.0, 1.0, 1.0))
    assert out.shape == (2, 6, 4, 5)
    one, _ = rescale_to_isotropic(img[1], (2.0, 1.0, 1.0))
    np.testing.assert_array_equal(out[1], one)
    same, sp = rescale_to_isotropic(img, (1.0, 1.0, 1.0))
    assert same.shape == img.shape and same is not img


@pytest.mark.parametrize("kwargs, match", [(dict(spacing=(1.0, 1.0, 1.0, 1.0, 1.0)), "spacing"),
                                           (dict(spacing=(0.0, 1.0)), "positive"),
                                           (dict(spacing=(1.0, 1.0), order=7), "order"),
                                           (dict(spacing=(1.0, 1.0), target=-1), "target")])
def test_resample_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        rescale_to_isotropic(np.zeros((4, 4)), **kwargs)


@pytest.mark.parametrize("method", ["otsu", "li", "yen", "triangle", "mean"])
def test_threshold_methods_on_bimodal_image(method):
    rng = np.random.default_rng(2)
    truth = np.zeros((64, 64), bool)
    truth[16:40, 20:50] = True
    img = np.where(truth, 180.0, 40.0) + rng.normal(0, 8, truth.shape)
    mask = threshold(img, method)
    assert mask.dtype == bool and mask.shape == img.shape
    assert (mask == truth).mean() > 0.9  # yen is the loosest here (0.956)
    t = threshold_value(img, method)
    assert t == pytest.approx(float(getattr(filters, f"threshold_{method}")(img)))


def test_threshold_edge_cases():
    assert not threshold(np.full((5, 5), 3.0)).any()  # constant image: empty mask
    img = np.zeros((10, 10), np.float32)
    img[:, 5:] = 100
    img[0, 0] = np.nan
    mask = threshold(img, "otsu")
    assert mask[:, 5:].all() and not mask[:, :5].any()
    assert threshold(img > 50, "mean")[:, 5:].all()
    with pytest.raises(ValueError, match="unknown threshold"):
        threshold(img, "magic")
    with pytest.raises(ValueError, match="empty"):
        threshold(np.full(3, np.nan))
