"""Models available to the widgets of one viewer: trained in this session or loaded from files."""
from __future__ import annotations

import weakref
from pathlib import Path

from psygnal import Signal

_STORES: dict[int, "ModelStore"] = {}


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


def store_for(viewer) -> ModelStore:
    """The model store of ``viewer`` (created on first use, dropped with the viewer)."""
    key = id(viewer)
    if key not in _STORES:
        _STORES[key] = ModelStore()
        weakref.finalize(viewer, _STORES.pop, key, None)
    return _STORES[key]
