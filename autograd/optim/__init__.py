"""``autograd.optim``: optimizers and learning-rate schedulers (PyTorch names and semantics).

Every optimizer updates the parameters' arrays in place with numpy ufuncs; its
state (``exp_avg``, ``momentum_buffer`` ...) has the parameter's dtype, and
``state_dict()``/``load_state_dict()`` round-trip through ``autograd.save``/``load``.
"""
from . import lr_scheduler  # noqa: F401
from .adadelta import Adadelta  # noqa: F401
from .adagrad import Adagrad  # noqa: F401
from .adam import Adam, AdamW  # noqa: F401
from .lbfgs import LBFGS  # noqa: F401
from .optimizer import Optimizer  # noqa: F401
from .rmsprop import RMSprop  # noqa: F401
from .sgd import SGD  # noqa: F401

__all__ = ["Adadelta", "Adagrad", "LBFGS", "Adam", "AdamW", "Optimizer", "RMSprop", "SGD", "lr_scheduler"]
