"""Public Hypothesis strategies for convolution layers and problems.

=============================  ===========================================================
strategy                       draws
=============================  ===========================================================
:func:`conv_specs`             :class:`~convproof.ConvSpec`
:func:`conv_transpose_specs`   :class:`~convproof.ConvTransposeSpec`
:func:`pool_specs`             :class:`~convproof.PoolSpec`
:func:`input_shapes`           input shapes valid for a given spec (non-empty output)
:func:`conv_problems`          :class:`ConvProblem`: a spec, an input shape and arrays
=============================  ===========================================================

Every spec is valid by construction (PyTorch's legality rules: ``groups`` divides both
channel counts, ``output_padding < stride or < dilation``, pooling padding at most half the
kernel, no dilation for average pooling, PyTorch ``"same"`` only with stride 1), and every
input shape is drawn *from* the spec, so the output is non-empty and padding-mode limits
hold (``reflect`` padding < input size, ``circular`` padding <= input size) without
filtering.  Per-axis values are drawn independently.  Everything shrinks towards the
minimal case: one channel, kernel 1, stride 1, dilation 1, no padding, zero padding mode,
no bias, the smallest input.

Bounds are keyword-only and checked when the strategy is built (a bad bound raises
:class:`hypothesis.errors.InvalidArgument`, as ``hypothesis.extra.numpy`` does).  The
strategies are registered for ``st.from_type`` through the ``"hypothesis"`` entry point.

Examples
--------
>>> from hypothesis import find
>>> import convproof as cp
>>> find(cp.strategies.conv_specs(), lambda spec: spec.stride == (1, 2))
ConvSpec(in_channels=1, out_channels=1, kernel_size=(1, 1), stride=(1, 2), padding=((0, 0), (0, 0)), dilation=(1, 1), groups=1, bias=False, padding_mode='zeros', ndim=2)
"""  # noqa: E501

# the padding modes conv_specs draws from by default (``cs.PADDING_MODES``, as before the split)
from convproof.layers.spec import PADDING_MODES as PADDING_MODES
from convproof.testing.problem_strategies import LARGE_SIZES as LARGE_SIZES
from convproof.testing.problem_strategies import VALUE_KINDS as VALUE_KINDS
from convproof.testing.problem_strategies import BackwardProblem as BackwardProblem
from convproof.testing.problem_strategies import ConvProblem as ConvProblem
from convproof.testing.problem_strategies import conv_backward_problems as conv_backward_problems
from convproof.testing.problem_strategies import conv_problems as conv_problems
from convproof.testing.problem_strategies import input_shapes as input_shapes
from convproof.testing.spec_strategies import CONV_PADDING_FORMS as CONV_PADDING_FORMS
from convproof.testing.spec_strategies import POOL_PADDING_FORMS as POOL_PADDING_FORMS
from convproof.testing.spec_strategies import TRANSPOSE_PADDING_FORMS as TRANSPOSE_PADDING_FORMS
from convproof.testing.spec_strategies import conv_specs as conv_specs
from convproof.testing.spec_strategies import conv_transpose_specs as conv_transpose_specs
from convproof.testing.spec_strategies import pool_specs as pool_specs

__all__ = [
    "CONV_PADDING_FORMS",
    "LARGE_SIZES",
    "POOL_PADDING_FORMS",
    "TRANSPOSE_PADDING_FORMS",
    "VALUE_KINDS",
    "BackwardProblem",
    "ConvProblem",
    "conv_backward_problems",
    "conv_problems",
    "conv_specs",
    "conv_transpose_specs",
    "input_shapes",
    "pool_specs",
]
