"""``autograd.nn``: modules, layers, losses, ``functional`` and ``init`` (PyTorch names)."""
from . import functional, init  # noqa: F401
from .modules import *  # noqa: F401,F403
from .modules import Module  # noqa: F401
from .parameter import Buffer, Parameter, UninitializedParameter  # noqa: F401
from . import utils  # noqa: F401,E402
from . import parallel  # noqa: F401,E402
