"""The CPU caching allocator of the network ops (``autograd._buffers``)."""
from __future__ import annotations

import gc
import io
import pickle
import threading

import numpy as np
import pytest

from autograd import _buffers as B

MB = 1 << 20


@pytest.fixture(autouse=True)
def empty_pool():
    B.release()
    yield
    B.release()


def _addr(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def test_small_arrays_are_plain_numpy():
    a = B.empty((10, 10), np.float32)
    assert a.flags.owndata and a.shape == (10, 10) and a.dtype == np.float32


def test_large_array_shape_dtype_and_reuse_after_delete():
    a = B.empty((2, 3, 256, 256), np.float32)
    assert a.shape == (2, 3, 256, 256) and a.dtype == np.float32
    assert a.flags.c_contiguous and a.flags.writeable
    a[:] = 1.5
    assert float(a.sum()) == 1.5 * a.size
    addr = _addr(a)
    del a
    gc.collect()
    assert B.idle_bytes() > 0
    b = B.empty((2, 3, 256, 256), np.float32)  # the same size class: the freed buffer
    assert _addr(b) == addr and B.idle_bytes() == 0
    c = B.empty((3, 2, 256, 256), np.float64)  # another class: fresh memory
    assert _addr(c) != addr


def test_a_view_keeps_its_buffer():
    a = B.empty((4 * MB,), np.uint8)
    a[:] = 7
    v = a[::2]
    addr = _addr(a)
    del a
    gc.collect()
    b = B.empty((4 * MB,), np.uint8)
    assert _addr(b) != addr  # still in use by the view
    b[:] = 0
    assert (v == 7).all()


def test_a_miss_returns_idle_memory_first():
    a = B.empty((2 * MB,), np.uint8)
    del a
    gc.collect()
    assert B.idle_bytes() == 2 * MB
    b = B.empty((3 * MB,), np.uint8)  # no 3 MB buffer: the idle 2 MB go back to malloc
    assert B.idle_bytes() == 0 and b.nbytes == 3 * MB


def test_idle_limit(monkeypatch):
    monkeypatch.setattr(B, "IDLE_LIMIT", 5 * MB)
    arrays = [B.empty((2 * MB,), np.uint8) for _ in range(4)]
    del arrays
    gc.collect()
    assert B.idle_bytes() == 4 * MB  # the oldest freed one went back to malloc


def test_release():
    a = B.empty((2 * MB,), np.uint8)
    del a
    gc.collect()
    B.release()
    assert B.idle_bytes() == 0


def test_threads_share_the_pool_safely():
    errors = []

    def work(seed):
        rng = np.random.default_rng(seed)
        try:
            for _ in range(200):
                n = int(rng.integers(1, 4)) * MB
                a = B.empty((n,), np.uint8)
                a[:] = seed
                assert (a == seed).all()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    gc.collect()
    assert not errors
    assert B.idle_bytes() == sum(r.nbytes for r in B._idle.values())
    assert B.idle_bytes() <= B.IDLE_LIMIT


def test_pooled_arrays_serialize_like_numpy():
    a = B.empty((1, 2, 512, 512), np.float32)
    a[:] = np.arange(a.size, dtype=np.float32).reshape(a.shape)
    b = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a, b)
    f = io.BytesIO()
    np.save(f, a)
    f.seek(0)
    np.testing.assert_array_equal(np.load(f), a)


def test_empty_cache_releases_idle_buffers():
    import autograd
    a = B.empty((2 * MB,), np.uint8)
    del a
    gc.collect()
    autograd.cuda.empty_cache()
    assert B.idle_bytes() == 0
