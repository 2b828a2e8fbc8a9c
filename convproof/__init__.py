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

from . import strategies
from .arithmetic import (
    input_sizes_with_same_output,
    inverse_output_padding,
    output_padding_for_size,
    padding_for_output,
    padding_options,
    transpose_of,
)
from .check import (
    CheckResult,
    Counterexample,
    assert_conv_matches,
    check_conv,
    check_conv_transpose,
    check_pool,
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
from .network import (
    NETWORKS,
    Activation,
    AdaptivePool,
    Add,
    BatchNorm,
    Concat,
    Dropout,
    Flatten,
    Identity,
    Linear,
    Network,
    Node,
    Pad,
    Parallel,
    Residual,
    Sequential,
    analyze,
    load_network,
    network_from_dict,
    network_from_json,
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
from .strategies import ConvProblem
from .summary import ReceptiveRegion, Row, Summary, receptive_region, summary
from .symbolic import (
    LayerSymbols,
    UnevaluatedSum,
    layer_symbols,
    sliding_sum,
    sliding_sum_unevaluated,
)

__version__ = "0.1.0"

__all__ = [
    "NETWORKS",
    "PADDING_MODES",
    "PADDING_NAMES",
    "Activation",
    "AdaptivePool",
    "Add",
    "AxisPattern",
    "BatchNorm",
    "BlockLevel",
    "CheckResult",
    "Concat",
    "ConvProblem",
    "ConvProofError",
    "ConvSpec",
    "ConvTransposeSpec",
    "Counterexample",
    "Dropout",
    "Flatten",
    "Identity",
    "LayerSymbols",
    "Linear",
    "MatrixEntries",
    "MatrixStructure",
    "MemoryLimitError",
    "Network",
    "Node",
    "Pad",
    "Parallel",
    "PoolSpec",
    "ReceptiveRegion",
    "Residual",
    "Row",
    "Sequential",
    "Spec",
    "Summary",
    "UnevaluatedSum",
    "__version__",
    "analyze",
    "assert_conv_matches",
    "axis_patterns",
    "bias_vector",
    "check_conv",
    "check_conv_transpose",
    "check_pool",
    "conv",
    "conv_matrix",
    "estimate_bytes",
    "input_sizes_with_same_output",
    "inverse_output_padding",
    "layer_symbols",
    "load_network",
    "matrix_entries",
    "matrix_structure",
    "network_from_dict",
    "network_from_json",
    "nnz",
    "output_padding_for_size",
    "padding_for_output",
    "padding_options",
    "receptive_region",
    "sliding_sum",
    "sliding_sum_unevaluated",
    "spec_from_dict",
    "strategies",
    "summary",
    "transpose_of",
]
