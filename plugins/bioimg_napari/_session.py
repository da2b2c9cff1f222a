"""What the bioimg widgets of one napari viewer share: the models, and which layers Predict made.

napari hands every dock widget its own ``PublicOnlyProxy`` of the viewer, so
anything keyed by the object a widget receives (``id(viewer)``) would give
each widget a private copy. :func:`session_for` unwraps proxies down to the
real ``napari.Viewer`` and keeps one :class:`Session` per real viewer in a
``WeakKeyDictionary``: the session lives as long as the viewer and never
keeps it alive. ``BioimgWidget`` sets ``self.session`` from it, so no widget
looks its session up by itself.
"""
from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

from psygnal import Signal

_SESSIONS: "weakref.WeakKeyDictionary[Any, Session]" = weakref.WeakKeyDictionary()


class ModelStore:
    """Named ``BioimgModel`` objects shared by the Train, Predict and Explain widgets.

    ``changed`` is emitted whenever a model is added, so model pickers refresh.
    """

    changed = Signal()

    def __init__(self) -> None:
        self._models: dict = {}

    def add(self, name: str, model) -> str:
        """Add ``model``; returns its name, made unique with a number if needed."""
        unique, n = name, 1
        while unique in self._models:
            n += 1
            unique = f"{name} ({n})"
        self._models[unique] = model
        self.changed.emit()
        return unique

    def load(self, path) -> str:
        """Load a ``.bioimg`` file (raises ``ModelFileError``); returns its name in the store."""
        from bioimg.modelfile import load_model

        path = Path(path)
        model = load_model(path)
        return self.add(path.name, model)

    def get(self, name: str | None):
        """The model called ``name`` (None if there is none)."""
        return self._models.get(name) if name else None

    def names(self) -> list[str]:
        """Model names, newest first."""
        return list(reversed(self._models))

    def __len__(self) -> int:
        return len(self._models)


class Session:
    """State shared by every bioimg widget of one viewer.

    Attributes
    ----------
    models : ModelStore
        Models trained in this session or loaded from files.
    predicted : list of str
        Names of the Labels layers made by Predict, oldest first (Evaluate
        pre-selects the newest one).
    originals : dict
        Layer name -> a copy of the labels as Predict made them, so the Train
        widget can tell which pixels the user corrected since.
    """

    def __init__(self) -> None:
        self.models = ModelStore()
        self.predicted: list[str] = []
        self.originals: dict = {}
        self._viewer = None  # weakref to the real viewer, set by session_for

    def add_prediction(self, name: str) -> None:
        """Remember that Predict made (or updated) the Labels layer ``name``; it becomes the newest.

        A copy of the layer's data as predicted is kept (``originals``): the
        reference that corrections are measured against.
        """
        if name in self.predicted:
            self.predicted.remove(name)
        self.predicted.append(name)
        viewer = self._viewer() if self._viewer is not None else None
        layers = getattr(viewer, "layers", None)
        if layers is not None and name in layers:
            import numpy as np

            self.originals[name] = np.array(layers[name].data, copy=True)

    def original(self, name: str, shape: tuple):
        """The labels of ``name`` as Predict made them (None if unknown or of another shape)."""
        data = self.originals.get(name)
        return data if data is not None and tuple(data.shape) == tuple(shape) else None


def real_viewer(viewer):
    """The object behind any number of proxies (napari's ``PublicOnlyProxy`` wraps the real viewer)."""
    for _ in range(16):  # bounded: a proxy can never make this loop forever
        if not _is_proxy(viewer):
            break
        viewer = viewer.__wrapped__
    return viewer


def _is_proxy(obj) -> bool:
    try:
        import wrapt
    except ImportError:  # napari depends on wrapt; without it nothing is proxied
        return False
    return isinstance(obj, wrapt.ObjectProxy)


def session_for(viewer) -> Session:
    """The :class:`Session` of ``viewer`` or of the real viewer behind a proxy (created on first use)."""
    real = real_viewer(viewer)
    session = _SESSIONS.get(real)
    if session is None:
        session = _SESSIONS[real] = Session()
        try:
            session._viewer = weakref.ref(real)
        except TypeError:  # an object without weak references (tests): no originals kept
            pass
    return session


def store_for(viewer) -> ModelStore:
    """The model store of ``viewer``'s session (kept for callers of the old API)."""
    return session_for(viewer).models
