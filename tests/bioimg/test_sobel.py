import numpy as np
import tifffile
from skimage import filters

from bioimg.preprocess import corr2d, sobel
from bioimg.preprocess._sobel import SOBEL_H
from bioimg.sample import sample_paths


def test_sobel_matches_skimage_on_real_image():
    img = tifffile.imread(sample_paths("nuclei2d")[0]).astype(np.float32)[:128, :128]
    ours = sobel(img)
    ref = filters.sobel(img)
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-3 * float(ref.max()))
    assert ours.dtype == np.float32


def test_engine_conv_equals_loop_corr2d():
    import autograd as torch
    import autograd.nn.functional as F
    x = np.random.default_rng(0).random((9, 11)).astype(np.float32)
    loop = corr2d(x, SOBEL_H)
    conv = F.conv2d(torch.from_numpy(x[None, None]), torch.from_numpy(SOBEL_H[None, None])).numpy()[0, 0]
    np.testing.assert_allclose(conv, loop, rtol=1e-5, atol=1e-6)
