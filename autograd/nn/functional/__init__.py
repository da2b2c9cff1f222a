"""``autograd.nn.functional``: the function form of every layer and loss."""
from ...ops._shape import pad  # noqa: F401
from ...ops._unary import (elu, gelu, hardsigmoid, hardswish, hardtanh, leaky_relu,  # noqa: F401
                           logsigmoid, mish, relu, relu6, selu, sigmoid, silu, softplus, tanh, celu)
from ...ops._reduce import log_softmax, softmax  # noqa: F401
from ._activation import *  # noqa: F401,F403
from ._conv import *  # noqa: F401,F403
from ._conv_transpose import *  # noqa: F401,F403
from ._fold import *  # noqa: F401,F403
from ._dropout import *  # noqa: F401,F403
from ._linear import *  # noqa: F401,F403
from ._loss import *  # noqa: F401,F403
from ._norm import *  # noqa: F401,F403
from ._pool import *  # noqa: F401,F403
from ._adaptive_pool import *  # noqa: F401,F403
from ._rnn import *  # noqa: F401,F403
from ._upsample import *  # noqa: F401,F403
from ._attention import *  # noqa: F401,F403,E402
from ._pixel_shuffle import *  # noqa: F401,F403,E402
