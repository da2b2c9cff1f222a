"""One session per real viewer, whatever proxy a widget receives; widgets get it without asking."""
from __future__ import annotations

import gc
from types import SimpleNamespace

import pytest

MODEL = SimpleNamespace(info=SimpleNamespace(task="segment"))  # what the pickers read of a model

pytestmark = pytest.mark.gui


def test_two_proxies_of_one_viewer_share_a_session(make_napari_viewer):
    from napari.utils._proxies import PublicOnlyProxy

    from bioimg_napari._session import real_viewer, session_for

    viewer, other = make_napari_viewer(), make_napari_viewer()
    a, b = PublicOnlyProxy(viewer), PublicOnlyProxy(viewer)
    assert a is not b and real_viewer(a) is viewer and real_viewer(PublicOnlyProxy(a)) is viewer
    assert session_for(a) is session_for(b) is session_for(viewer)
    assert session_for(other) is not session_for(viewer)
    assert session_for(PublicOnlyProxy(other)) is session_for(other)


def test_session_does_not_keep_its_viewer_alive():
    from bioimg_napari._session import _SESSIONS, session_for

    class Fake:  # any weak-referenceable object stands for a viewer
        pass

    fake = Fake()
    session_for(fake).models.add("m", object())
    assert fake in _SESSIONS
    del fake
    gc.collect()
    assert not any(isinstance(key, Fake) for key in _SESSIONS)


def test_widgets_opened_through_the_plugin_door_share_one_session(viewer, dock):
    from napari.utils._proxies import PublicOnlyProxy

    widgets = [dock(viewer, name) for name in ("Preprocess", "Train", "Predict", "Evaluate", "Explain")]
    assert all(isinstance(w.viewer, PublicOnlyProxy) for w in widgets)  # each got its own proxy
    sessions = {id(w.session) for w in widgets}
    assert len(sessions) == 1
    predict, explain = widgets[2], widgets[4]
    assert predict.store is explain.store is widgets[1].session.models
    name = widgets[1].session.models.add("segment model (x)", MODEL)  # as Train does when it finishes
    assert predict.model_choice.value == explain.model_choice.value == name


def test_a_second_viewer_has_its_own_models(make_napari_viewer, dock):
    first, second = make_napari_viewer(), make_napari_viewer()
    train = dock(first, "Train")
    predict = dock(second, "Predict")
    train.session.models.add("model", MODEL)
    assert predict.session is not train.session and predict.store.names() == []
