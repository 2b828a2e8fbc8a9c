"""convproof: exact, checkable convolution arithmetic.

Shapes, counts and receptive fields as integers and derived SymPy formulas; every output as
the sliding-window sum; the layer as a sparse conv matrix; proofs that the two are the same
map; a fast numeric convolution; and Hypothesis strategies to property-test your own conv.

Examples
--------
>>> import convproof as cp
>>> cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3, padding="same").output_shape(
...     (3, 25, 25))
(5, 25, 25)
"""

from __future__ import annotations

from .arithmetic import (
    input_sizes_with_same_output,
    inverse_output_padding,
    output_padding_for_size,
    padding_for_output,
    padding_options,
    transpose_of,
)
from .errors import ConvProofError, MemoryLimitError
from .index import AxisPattern, axis_patterns
from .matrix import (
    BlockLevel,
    MatrixEntries,
    MatrixStructure,
    bias_vector,
    conv_matrix,
    estimate_bytes,
    matrix_entries,
    matrix_structure,
    nnz,
)
from .numeric import conv
from .spec import (
    PADDING_MODES,
    PADDING_NAMES,
    ConvSpec,
    ConvTransposeSpec,
    PoolSpec,
    Spec,
    spec_from_dict,
)
from .symbolic import (
    LayerSymbols,
    UnevaluatedSum,
    layer_symbols,
    sliding_sum,
    sliding_sum_unevaluated,
)

__version__ = "0.1.0"

__all__ = [
    "PADDING_MODES",
    "PADDING_NAMES",
    "AxisPattern",
    "BlockLevel",
    "ConvProofError",
    "ConvSpec",
    "ConvTransposeSpec",
    "LayerSymbols",
    "MatrixEntries",
    "MatrixStructure",
    "MemoryLimitError",
    "PoolSpec",
    "Spec",
    "UnevaluatedSum",
    "__version__",
    "axis_patterns",
    "bias_vector",
    "conv",
    "conv_matrix",
    "estimate_bytes",
    "input_sizes_with_same_output",
    "inverse_output_padding",
    "layer_symbols",
    "matrix_entries",
    "matrix_structure",
    "nnz",
    "output_padding_for_size",
    "padding_for_output",
    "padding_options",
    "sliding_sum",
    "sliding_sum_unevaluated",
    "spec_from_dict",
    "transpose_of",
]
