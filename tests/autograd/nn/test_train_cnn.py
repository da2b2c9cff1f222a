"""Integration: a small CNN (Conv2d, BatchNorm2d, ReLU, MaxPool2d, Flatten, Linear) learns to
tell squares, crosses and circles apart in seeded synthetic 16x16 images.

The optimiser (Adam) is written inline so the test depends only on the layers.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

import autograd as A
import autograd.nn as nn

pytestmark = pytest.mark.skipif(not hasattr(nn, "Conv2d") or not hasattr(nn, "MaxPool2d"),
                                reason="Conv2d / MaxPool2d not available")


def make_shapes(n: int, rng: np.random.Generator, size: int = 16):
    """Outlined squares (0), crosses (1) and circles (2) at random places, sizes and brightness."""
    yy, xx = np.mgrid[:size, :size]
    imgs = np.zeros((n, 1, size, size), np.float32)
    labels = np.arange(n) % 3
    for i, c in enumerate(labels):
        r = rng.integers(3, 6)
        cy, cx = rng.integers(r, size - r, 2)
        dy, dx = yy - cy, xx - cx
        if c == 0:
            mask = np.maximum(np.abs(dy), np.abs(dx)) == r
        elif c == 1:
            mask = ((np.abs(dy) <= r) & (dx == 0)) | ((np.abs(dx) <= r) & (dy == 0))
        else:
            mask = np.abs(np.sqrt(dy ** 2 + dx ** 2) - r) < 0.6
        imgs[i, 0] = mask * rng.uniform(0.7, 1.3) + rng.normal(0, 0.15, (size, size))
    perm = rng.permutation(n)
    return imgs[perm], labels[perm]


def test_small_cnn_learns_shapes():
    rng = np.random.default_rng(0)
    x_train, y_train = make_shapes(600, rng)
    x_test, y_test = make_shapes(180, rng)
    A.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 4 * 4, 3))
    params = list(model.parameters())
    m1 = [np.zeros_like(p.detach().numpy()) for p in params]
    m2 = [np.zeros_like(p.detach().numpy()) for p in params]
    criterion = nn.CrossEntropyLoss()
    start, step = time.perf_counter(), 0
    for _epoch in range(10):
        model.train()
        order = rng.permutation(len(x_train))
        for b in range(0, len(order), 30):
            idx = order[b:b + 30]
            step += 1
            loss = criterion(model(A.tensor(x_train[idx])), A.tensor(y_train[idx]))
            model.zero_grad()
            loss.backward()
            with A.no_grad():
                for p, a, v in zip(params, m1, m2):
                    g = p.grad.numpy()
                    a[...] = 0.9 * a + 0.1 * g
                    v[...] = 0.999 * v + 0.001 * g * g
                    upd = 0.01 * (a / (1 - 0.9 ** step)) / (np.sqrt(v / (1 - 0.999 ** step)) + 1e-8)
                    p -= A.tensor(upd.astype(np.float32))
    elapsed = time.perf_counter() - start
    model.eval()
    with A.no_grad():
        logits = model(A.tensor(x_test))
    accuracy = (A.argmax(logits, 1).numpy() == y_test).mean()
    assert logits.dtype == A.float32
    assert accuracy > 0.95, f"test accuracy {accuracy:.3f}"
    assert int(model[1].num_batches_tracked) == step
    print(f"training took {elapsed:.1f} s")  # a figure to read, not a pass/fail: tests never time
