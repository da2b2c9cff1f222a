"""Property tests (Hypothesis) for label validation: ``interpret_labels`` and ``check_labels``.

Any integer array gives a plan with 1 <= num_classes <= MAX_CLASSES or a one-line ValueError;
float non-integer values, negative ids, NaN and inf are always a ValueError that names the problem
(issue 14: float labels of 0.5 and negative labels were reported as "labels are empty").
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bioimg.training.labels import LABEL_KINDS, MAX_CLASSES, LabelPlan, interpret_labels
from bioimg.training.targets import check_labels

INT_DTYPES = st.sampled_from([np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                              np.uint64, bool])
SHAPES = hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=12)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _elements(dt):
    if dt is bool:
        return st.booleans()
    top = int(np.iinfo(dt).max)
    # few distinct values most of the time (masks), sometimes the dtype's whole range (ids, extremes)
    return st.one_of(st.integers(0, 5), st.integers(0, min(200, top)), hnp.from_dtype(np.dtype(dt)))


def int_arrays(dtype=INT_DTYPES):
    return dtype.flatmap(lambda dt: hnp.arrays(dt, SHAPES, elements=_elements(dt)))


def _one_line(exc: ValueError) -> str:
    text = str(exc)
    assert text.strip() and "\n" not in text.strip(), repr(text)
    return text


@SETTINGS
@given(labels=st.lists(int_arrays(), min_size=1, max_size=3), task=st.sampled_from(["segment", "instance"]),
       kind=st.sampled_from(LABEL_KINDS), painted=st.booleans())
def test_integer_labels_give_a_bounded_plan_or_a_one_line_error(labels, task, kind, painted):
    try:
        plan = interpret_labels(labels, task, kind, painted=painted)
    except ValueError as exc:
        _one_line(exc)
        if any(lab.dtype.kind == "i" and lab.size and lab.min() < 0 for lab in labels):
            assert "negative" in str(exc)
        return
    assert isinstance(plan, LabelPlan)
    assert 1 <= plan.num_classes <= MAX_CLASSES
    assert all(np.asarray(lab).min() >= 0 for lab in labels)  # a negative id never makes a plan


finite_floats = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=32)


@SETTINGS
@given(base=hnp.arrays(np.float32, SHAPES, elements=st.integers(0, 4).map(float)),
       bad=finite_floats.filter(lambda v: v != int(v)), data=st.data(), kind=st.sampled_from(LABEL_KINDS))
def test_non_integer_floats_are_named(base, bad, data, kind):
    index = data.draw(st.tuples(*[st.integers(0, s - 1) for s in base.shape]))
    base[index] = bad
    with pytest.raises(ValueError, match="non-integer values such as") as info:
        check_labels(base)
    _one_line(info.value)
    for task in ("segment", "instance"):
        with pytest.raises(ValueError, match="non-integer") as info:
            interpret_labels([base], task, kind)
        assert "labels are empty" not in str(info.value)


@SETTINGS
@given(base=hnp.arrays(st.sampled_from([np.float32, np.float64, np.int8, np.int16, np.int32, np.int64]), SHAPES,
                       elements=st.integers(0, 4)),
       negative=st.integers(-(2**31), -1), data=st.data())
def test_negative_ids_are_named(base, negative, data):
    info = np.finfo(base.dtype) if base.dtype.kind == "f" else np.iinfo(base.dtype)
    negative = max(negative, int(info.min))
    index = data.draw(st.tuples(*[st.integers(0, s - 1) for s in base.shape]))
    base[index] = negative
    with pytest.raises(ValueError, match=r"negative values \(min -\d+\)") as exc:
        check_labels(base)
    _one_line(exc.value)
    with pytest.raises(ValueError, match="negative"):
        interpret_labels([base], "segment")


@SETTINGS
@given(base=hnp.arrays(st.sampled_from([np.float32, np.float64]), SHAPES, elements=st.integers(0, 4)),
       special=st.sampled_from([np.nan, np.inf, -np.inf]), data=st.data())
def test_nan_and_inf_are_named(base, special, data):
    index = data.draw(st.tuples(*[st.integers(0, s - 1) for s in base.shape]))
    base[index] = special
    word = "NaN" if np.isnan(special) else "inf"
    with pytest.raises(ValueError, match=rf"hold {word} values \(1 pixels\)") as exc:
        check_labels(base)
    _one_line(exc.value)
    with pytest.raises(ValueError, match=word):
        interpret_labels([base], "instance")


def test_issue_examples():
    """The issue's rows: 0.5 and -1 were 'labels are empty'."""
    with pytest.raises(ValueError, match="non-integer values such as 0.5"):
        interpret_labels([np.array([[0.0, 0.5]], np.float32)], "segment")
    with pytest.raises(ValueError, match=r"negative values \(min -1\)"):
        interpret_labels([np.array([[0, -1]], np.int32)], "segment")
