"""utils.data: datasets, samplers, DataLoader batching/shuffling/collation, random_split."""
from __future__ import annotations

import threading
from collections import namedtuple

import numpy as np
import pytest

import autograd
from autograd.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset,
                                 RandomSampler, SequentialSampler, Subset, SubsetRandomSampler, TensorDataset,
                                 WeightedRandomSampler, default_collate, get_worker_info, random_split)


def xy(n=10):
    x = autograd.arange(n * 2).reshape(n, 2).float()
    return TensorDataset(x, autograd.arange(n))


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return {"x": np.full((2, 2), i, np.float32), "y": i, "w": float(i) / 2, "name": f"s{i}"}


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def order(loader):
    return [int(v) for _, y in loader for v in y.tolist()]


def test_tensor_dataset():
    ds = xy(5)
    assert len(ds) == 5
    x, y = ds[3]
    assert x.tolist() == [6.0, 7.0] and y.item() == 3
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(autograd.zeros(3), autograd.zeros(4))


def test_sequential_batches_and_len():
    loader = DataLoader(xy(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and [b[0].shape[0] for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(batches[1][0].numpy(), np.arange(8, 16).reshape(4, 2))
    assert batches[1][0].dtype == np.float32 and batches[1][1].dtype == np.int64
    assert isinstance(batches[0], list)  # tuples of samples collate to a list, as in PyTorch
    dropped = DataLoader(xy(10), batch_size=4, drop_last=True)
    assert len(dropped) == 2 and [b[0].shape[0] for b in dropped] == [4, 4]


def test_shuffle_is_reproducible_with_seeded_generator():
    def loader(seed):
        return DataLoader(xy(20), batch_size=3, shuffle=True, generator=autograd.Generator().manual_seed(seed))
    a, b, c = loader(0), loader(0), loader(1)
    first_a, first_b, first_c = order(a), order(b), order(c)
    assert first_a == first_b and sorted(first_a) == list(range(20)) and first_a != list(range(20))
    assert first_c != first_a
    second_a = order(a)  # the next epoch draws a new order from the same generator
    assert second_a != first_a and second_a == order(b) and sorted(second_a) == list(range(20))


def test_shuffle_without_generator_follows_manual_seed():
    autograd.manual_seed(123)
    a = order(DataLoader(xy(16), batch_size=5, shuffle=True))
    autograd.manual_seed(123)
    b = order(DataLoader(xy(16), batch_size=5, shuffle=True))
    assert a == b and sorted(a) == list(range(16))


def test_collate_dicts_arrays_numbers_strings():
    batch = next(iter(DataLoader(Squares(5), batch_size=3)))
    assert set(batch) == {"x", "y", "w", "name"}
    assert batch["x"].shape == (3, 2, 2) and batch["x"].dtype == np.float32
    assert batch["y"].tolist() == [0, 1, 2] and batch["y"].dtype == np.int64
    assert batch["w"].dtype == np.float64 and batch["w"].tolist() == [0.0, 0.5, 1.0]
    assert batch["name"] == ["s0", "s1", "s2"]


def test_default_collate_rules():
    Pair = namedtuple("Pair", "a b")
    out = default_collate([Pair(np.float32(1), [1, 2]), Pair(np.float32(2), [3, 4])])
    assert isinstance(out, Pair) and out.a.dtype == np.float32 and out.a.tolist() == [1.0, 2.0]
    assert [t.tolist() for t in out.b] == [[1, 3], [2, 4]]
    tens = default_collate([autograd.ones(2, 3), autograd.zeros(2, 3)])
    assert tens.shape == (2, 2, 3) and not tens.requires_grad
    assert default_collate([True, False]).dtype == np.bool_
    nested = default_collate([(np.zeros(2), {"k": 1}), (np.ones(2), {"k": 2})])
    assert nested[0].dtype == np.float64 and nested[1]["k"].tolist() == [1, 2]
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([np.zeros(2), np.zeros(3)])
    leaf = autograd.ones(2).requires_grad_()
    stacked = default_collate([leaf, leaf])
    stacked.sum().backward()
    assert stacked.requires_grad and leaf.grad.tolist() == [2.0, 2.0]
    with pytest.raises(TypeError, match="default_collate"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="default_collate"):
        default_collate([np.array([object()]), np.array([object()])])


def test_batch_size_none_converts_samples():
    loader = DataLoader(Squares(3), batch_size=None)
    items = list(loader)
    assert len(loader) == 3 and isinstance(items[1]["x"], autograd.Tensor) and items[1]["y"] == 1


def test_custom_collate_sampler_and_batch_sampler():
    loader = DataLoader(xy(6), batch_size=2, sampler=[5, 4, 3, 2, 1, 0], collate_fn=lambda b: [int(y) for _, y in b])
    assert list(loader) == [[5, 4], [3, 2], [1, 0]]
    loader = DataLoader(xy(6), batch_sampler=[[0, 5], [1]], collate_fn=lambda b: len(b))
    assert list(loader) == [2, 1] and len(loader) == 2


def test_invalid_loader_options():
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(xy(), sampler=SequentialSampler(xy()), shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(xy(), batch_size=2, batch_sampler=[[0]])
    with pytest.raises(ValueError, match="drop_last"):
        DataLoader(xy(), batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(xy(), num_workers=-1)
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(Stream(3), shuffle=True)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        DataLoader(xy(), batch_size=0)


def test_iterable_dataset_batches():
    loader = DataLoader(Stream(7), batch_size=3)
    assert [b.tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6]] and len(loader) == 3
    loader = DataLoader(Stream(7), batch_size=3, drop_last=True)
    assert [b.tolist() for b in loader] == [[0, 1, 2], [3, 4, 5]] and len(loader) == 2


def test_threaded_workers_give_the_same_batches_in_order():
    seen = set()

    class Slow(Dataset):
        def __len__(self):
            return 23

        def __getitem__(self, i):
            info = get_worker_info()
            seen.add(None if info is None else info.id)
            return np.full(3, i, np.float32), i

    gen = autograd.Generator().manual_seed(5)
    serial = order(DataLoader(Slow(), batch_size=4, shuffle=True, generator=autograd.Generator().manual_seed(5)))
    threaded = DataLoader(Slow(), batch_size=4, shuffle=True, generator=gen, num_workers=3)
    assert order(threaded) == serial
    assert seen - {None} and seen <= {None, 0, 1, 2}
    assert get_worker_info() is None


def test_threaded_worker_errors_propagate_and_early_break_stops():
    class Bad(Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            if i == 6:
                raise KeyError("broken sample 6")
            return i

    with pytest.raises(KeyError, match="broken sample 6"):
        list(DataLoader(Bad(), batch_size=2, num_workers=2))
    before = threading.active_count()
    it = iter(DataLoader(Bad(), batch_size=2, num_workers=2))
    assert next(it).tolist() == [0, 1]
    it.close()
    assert threading.active_count() <= before


def test_samplers():
    g = autograd.Generator().manual_seed(0)
    draws = list(RandomSampler(range(4), replacement=True, num_samples=50, generator=g))
    assert len(draws) == 50 and set(draws) <= {0, 1, 2, 3}
    more = list(RandomSampler(range(4), num_samples=10, generator=g))
    assert len(more) == 10 and sorted(more[:4]) == [0, 1, 2, 3] and sorted(more[4:8]) == [0, 1, 2, 3]
    sub = list(SubsetRandomSampler([10, 20, 30], generator=g))
    assert sorted(sub) == [10, 20, 30]
    weighted = list(WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 40, generator=g))
    assert set(weighted) == {1, 3}
    assert list(BatchSampler(range(7), 3, drop_last=True)) == [[0, 1, 2], [3, 4, 5]]
    assert len(BatchSampler(range(7), 3, drop_last=False)) == 3
    with pytest.raises(ValueError, match="drop_last"):
        BatchSampler(range(3), 2, drop_last=1)


def test_random_split_fractions_and_lengths():
    ds = xy(11)
    parts = random_split(ds, [0.7, 0.2, 0.1], generator=autograd.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [8, 2, 1]
    idx = sorted(i for p in parts for i in p.indices)
    assert idx == list(range(11))
    again = random_split(ds, [0.7, 0.2, 0.1], generator=autograd.Generator().manual_seed(0))
    assert [p.indices for p in again] == [p.indices for p in parts]
    a, b = random_split(range(10), [3, 7], generator=autograd.Generator().manual_seed(1))
    assert len(a) == 3 and sorted(list(a) + list(b)) == list(range(10))
    x, y = parts[1][0]
    assert y.item() == parts[1].indices[0]
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(ds, [5, 5])
    with pytest.raises(ValueError, match="not between 0 and 1"):
        random_split(ds, [1.5, -0.5])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(range(2), [0.9, 0.1])


def test_subset_and_concat():
    ds = ConcatDataset([xy(3), xy(4)])
    assert len(ds) == 7 and ds[3][1].item() == 0 and ds[-1][1].item() == 3
    with pytest.raises(IndexError):
        ds[7]
    with pytest.raises(ValueError, match="absolute value"):
        ds[-8]
    sub = Subset(Squares(10), [9, 2, 4])
    assert len(sub) == 3 and sub[0]["y"] == 9
    batch = next(iter(DataLoader(sub, batch_size=3)))
    assert batch["y"].tolist() == [9, 2, 4]
    assert len(Squares(2) + Squares(3)) == 5
    assert list(Stream(2) + Stream(3)) == [0, 1, 0, 1, 2]
