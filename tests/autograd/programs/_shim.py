"""Test-harness shim: ``import torch`` (and every ``torch.x.y``) resolves to ``autograd`` (``autograd.x.y``).

Only the program harness uses this; product code never imports torch. A small
synthetic ``torchvision`` stands in for the datasets the programs would download
(same sample shapes and dtypes, a few dozen samples) and for ``save_image``.

``install(root)`` puts ``root`` (a folder holding an ``autograd`` package) first
on ``sys.path``, so the harness can run the same programs against an older tree.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types

import numpy as np


class _TorchFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Maps ``torch[.x]`` to the already-importable ``autograd[.x]`` module object."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        try:
            importlib.import_module("autograd" + fullname[5:])
        except ImportError:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return importlib.import_module("autograd" + spec.name[5:])

    def exec_module(self, module):
        return None


def _fake_torchvision() -> types.ModuleType:
    import torch  # resolved by the finder to autograd
    from torch.nn import functional as F

    tv = types.ModuleType("torchvision")
    datasets, transforms, utils = (types.ModuleType(f"torchvision.{n}") for n in ("datasets", "transforms", "utils"))

    def _to_array(img):
        if isinstance(img, np.ndarray):
            return img
        if hasattr(img, "size") and hasattr(img, "mode"):  # a PIL image
            return np.asarray(img)
        return img

    class ToTensor:
        def __call__(self, img):
            a = _to_array(img)
            if isinstance(a, np.ndarray):
                a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
                return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32) / 255.0)
            return a

    class Normalize:
        def __init__(self, mean, std):
            self.mean, self.std = mean, std

        def __call__(self, t):
            m = torch.tensor(self.mean).reshape(-1, 1, 1)
            s = torch.tensor(self.std).reshape(-1, 1, 1)
            return (t - m) / s

    class Compose:
        def __init__(self, ts):
            self.ts = ts

        def __call__(self, x):
            for t in self.ts:
                x = t(x)
            return x

    class Lambda:
        def __init__(self, fn):
            self.fn = fn

        def __call__(self, x):
            return self.fn(x)

    class Resize:
        def __init__(self, size, *a, **k):
            self.size = size

        def __call__(self, img):
            if hasattr(img, "resize") and hasattr(img, "mode"):
                from PIL import Image
                w, h = img.size
                s = self.size
                size = (s, s) if not isinstance(s, int) or w == h else (
                    (s, int(s * h / w)) if w < h else (int(s * w / h), s))
                return img.resize(size if not isinstance(s, (tuple, list)) else tuple(s)[::-1], Image.BICUBIC)
            s = self.size if isinstance(self.size, (tuple, list)) else (self.size, self.size)
            return F.interpolate(img[None], size=tuple(s), mode="bilinear", align_corners=False)[0]

    class CenterCrop:
        def __init__(self, size):
            self.size = size if isinstance(size, (tuple, list)) else (size, size)

        def __call__(self, img):
            th, tw = self.size
            if hasattr(img, "crop") and hasattr(img, "mode"):
                w, h = img.size
                left, top = (w - tw) // 2, (h - th) // 2
                return img.crop((left, top, left + tw, top + th))
            h, w = img.shape[-2:]
            top, left = (h - th) // 2, (w - tw) // 2
            return img[..., top:top + th, left:left + tw]

    for cls in (ToTensor, Normalize, Compose, Lambda, Resize, CenterCrop):
        setattr(transforms, cls.__name__, cls)

    class _Synthetic(torch.utils.data.Dataset):
        """``n`` seeded random images of ``shape`` (uint8, as the real datasets) and labels < ``classes``."""

        def __init__(self, shape, n=64, classes=10, transform=None, target_transform=None, seed=0):
            rng = np.random.default_rng(seed)
            self.data = rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)
            self.targets = rng.integers(0, classes, size=n).tolist()
            self.transform, self.target_transform = transform, target_transform

        def __len__(self):
            return len(self.data)

        def __getitem__(self, i):
            img, y = self.data[i], self.targets[i]
            if self.transform is not None:
                img = self.transform(img)
            if self.target_transform is not None:
                y = self.target_transform(y)
            return img, y

    def _mnist(root=None, train=True, transform=None, target_transform=None, download=False):
        return _Synthetic((28, 28), 64 if train else 32, 10, transform, target_transform, seed=0 if train else 1)

    def _cifar(root=None, train=True, transform=None, target_transform=None, download=False):
        return _Synthetic((32, 32, 3), 64 if train else 32, 10, transform, target_transform, seed=2 if train else 3)

    def _fake(size=16, image_size=(3, 224, 224), num_classes=10, transform=None, target_transform=None,
              random_offset=0):
        c, h, w = image_size
        return _Synthetic((h, w, c), min(size, 16), num_classes, transform, target_transform, seed=random_offset)

    datasets.MNIST = datasets.FashionMNIST = _mnist
    datasets.CIFAR10 = _cifar
    datasets.FakeData = _fake
    utils.save_image = lambda *a, **k: None
    utils.make_grid = lambda t, *a, **k: t
    tv.datasets, tv.transforms, tv.utils = datasets, transforms, utils
    return tv


def install(root: str | None = None) -> None:
    """Make ``torch`` resolve to autograd (from ``root`` if given) and provide the fake torchvision."""
    if root:
        sys.path.insert(0, root)
    for name in [m for m in sys.modules if m == "torch" or m.startswith("torch.")]:
        del sys.modules[name]
    sys.meta_path.insert(0, _TorchFinder())
    tv = _fake_torchvision()
    for sub in ("", ".datasets", ".transforms", ".utils"):
        sys.modules["torchvision" + sub] = tv if not sub else getattr(tv, sub[1:])
