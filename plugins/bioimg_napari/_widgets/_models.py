"""The model picker shared by the Predict and Explain widgets (trained now or loaded from a file)."""
from __future__ import annotations

from pathlib import Path

from magicgui.widgets import ComboBox
from qtpy.QtWidgets import QFileDialog, QPushButton

from .._notify import USER_ERRORS, show_error
from ._base import BioimgWidget, InputError


class ModelPickerMixin:
    """Adds a ``model`` drop-down and a "Load model..." button to a :class:`BioimgWidget`.

    The models come from ``self.session.models``, shared with the Train widget
    and the other pickers of the same viewer; the newest one is selected.
    """

    def _init_models(self: BioimgWidget) -> None:
        self.store = self.session.models
        self.model_choice = ComboBox(choices=lambda _w=None: self.store.names(), label="model", nullable=False,
                                     tooltip="A model trained in the Train widget or loaded from a .bioimg "
                                             "file (newest first)")
        self.load_button = QPushButton("Load model...")
        self.load_button.setToolTip("Open a .bioimg model file; it joins the model list of every bioimg widget")
        self.load_button.clicked.connect(lambda: self.load_model())
        self.store.changed.connect(self._models_changed)

    def _models_changed(self) -> None:
        try:
            self.model_choice.reset_choices()
            names = self.store.names()
            if names:
                self.model_choice.value = names[0]
        except RuntimeError:  # the widget was deleted with its viewer
            self.store.changed.disconnect(self._models_changed)

    def load_model(self, path: str | Path | None = None) -> str | None:
        """Load a ``.bioimg`` file (asked with a file dialog when None) and select it."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Load model", "", "bioimg model (*.bioimg);;"
                                                  "bioimage.io package (*.zip);;All files (*)")
            if not path:
                return None
        try:
            name = self.store.load(path)
        except USER_ERRORS as exc:
            show_error(exc, "load model")
            return None
        self.model_choice.value = name
        return name

    def chosen_model(self):
        """The selected model, or an InputError saying how to get one."""
        model = self.store.get(self.model_choice.value)
        if model is None:
            raise InputError("no model yet: train one in the Train widget or press 'Load model...'")
        return model
