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

import importlib
from typing import TYPE_CHECKING, Any

from .errors import ConvProofError, MemoryLimitError
from .spec import (
    PADDING_MODES,
    PADDING_NAMES,
    ConvSpec,
    ConvTransposeSpec,
    PoolSpec,
    Spec,
    spec_from_dict,
)

__version__ = "0.1.0"

# Everything else loads on first use (PEP 562), as SciPy does: ``import convproof`` and the
# ``convproof`` command start without importing SymPy, SciPy or Hypothesis until needed.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "arithmetic": (
        "input_sizes_with_same_output",
        "inverse_output_padding",
        "output_padding_for_size",
        "padding_for_output",
        "padding_options",
        "transpose_of",
    ),
    "export": ("matrix_conventions", "to_dense", "to_latex", "to_mtx", "to_npz", "to_torch_sparse"),
    "formulas": (
        "SYMBOLS",
        "Formula",
        "FormulaProof",
        "Relationship",
        "framework_formula",
        "framework_formula_proofs",
        "macs_formula",
        "output_size_formula",
        "params_formula",
        "prove_formula_equal",
        "relationship",
        "relationships",
    ),
    "general": ("GENERAL_KINDS", "prove_general"),
    "index": ("AxisPattern", "axis_patterns"),
    "matrix": (
        "BlockLevel",
        "MatrixEntries",
        "MatrixStructure",
        "bias_vector",
        "conv_matrix",
        "estimate_bytes",
        "matrix_entries",
        "matrix_structure",
        "nnz",
    ),
    "network": (
        "NETWORKS",
        "Activation",
        "AdaptivePool",
        "Add",
        "BatchNorm",
        "Concat",
        "Dropout",
        "Flatten",
        "Identity",
        "Linear",
        "Network",
        "Node",
        "Pad",
        "Parallel",
        "Residual",
        "Sequential",
        "analyze",
        "load_network",
        "network_from_dict",
        "network_from_json",
    ),
    "numeric": ("conv",),
    "proof": ("ProofCounterexample", "ProofResult", "coefficient_table", "prove", "prove_function"),
    "network_summary": ("ReceptiveRegion", "Row", "Summary", "receptive_region", "summary"),
    "network_proof": ("LayerProof", "NetworkProof", "prove_network"),
    "symbolic": (
        "LayerSymbols",
        "SlidingSumEstimate",
        "UnevaluatedSum",
        "layer_symbols",
        "sliding_sum",
        "sliding_sum_estimate",
        "sliding_sum_unevaluated",
    ),
    "check": (
        "CheckResult",
        "Counterexample",
        "UnexercisedWarning",
        "assert_conv_matches",
        "check_conv",
        "check_conv_transpose",
        "check_pool",
    ),
    "strategies": ("ConvProblem",),
    "backward": ("conv_backward", "max_pool_indices", "max_unpool", "pool_backward"),
    "backward_proof": ("adjoint_check", "prove_backward", "prove_backward_general"),
    "check_backward": (
        "BackwardCounterexample",
        "assert_backward_matches",
        "check_conv_backward",
        "check_conv_transpose_backward",
        "check_pool_backward",
    ),
    "spectrum": (
        "LipschitzCheck",
        "LipschitzReport",
        "LipschitzRow",
        "OperatorNorm",
        "check_lipschitz",
        "lipschitz_report",
        "operator_norm",
        "singular_values",
    ),
}
_LAZY = {name: module for module, names in _EXPORTS.items() for name in names}
_SUBMODULES = ("strategies", "render", "oracles", "examples")

if TYPE_CHECKING:
    from . import strategies
    from .arithmetic import (
        input_sizes_with_same_output,
        inverse_output_padding,
        output_padding_for_size,
        padding_for_output,
        padding_options,
        transpose_of,
    )
    from .backward import conv_backward, max_pool_indices, max_unpool, pool_backward
    from .backward_proof import adjoint_check, prove_backward, prove_backward_general
    from .check import (
        CheckResult,
        Counterexample,
        UnexercisedWarning,
        assert_conv_matches,
        check_conv,
        check_conv_transpose,
        check_pool,
    )
    from .check_backward import (
        BackwardCounterexample,
        assert_backward_matches,
        check_conv_backward,
        check_conv_transpose_backward,
        check_pool_backward,
    )
    from .export import (
        matrix_conventions,
        to_dense,
        to_latex,
        to_mtx,
        to_npz,
        to_torch_sparse,
    )
    from .formulas import (
        SYMBOLS,
        Formula,
        FormulaProof,
        Relationship,
        framework_formula,
        framework_formula_proofs,
        macs_formula,
        output_size_formula,
        params_formula,
        prove_formula_equal,
        relationship,
        relationships,
    )
    from .general import (
        GENERAL_KINDS,
        prove_general,
    )
    from .index import (
        AxisPattern,
        axis_patterns,
    )
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
    from .network_proof import (
        LayerProof,
        NetworkProof,
        prove_network,
    )
    from .network_summary import (
        ReceptiveRegion,
        Row,
        Summary,
        receptive_region,
        summary,
    )
    from .numeric import (
        conv,
    )
    from .proof import (
        ProofCounterexample,
        ProofResult,
        coefficient_table,
        prove,
        prove_function,
    )
    from .spectrum import (
        LipschitzCheck,
        LipschitzReport,
        LipschitzRow,
        OperatorNorm,
        check_lipschitz,
        lipschitz_report,
        operator_norm,
        singular_values,
    )
    from .strategies import ConvProblem
    from .symbolic import (
        LayerSymbols,
        SlidingSumEstimate,
        UnevaluatedSum,
        layer_symbols,
        sliding_sum,
        sliding_sum_estimate,
        sliding_sum_unevaluated,
    )


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"convproof.{_LAZY[name]}"), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"convproof.{name}")
    else:
        raise AttributeError(f"module 'convproof' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "GENERAL_KINDS",
    "NETWORKS",
    "PADDING_MODES",
    "PADDING_NAMES",
    "SYMBOLS",
    "Activation",
    "AdaptivePool",
    "Add",
    "AxisPattern",
    "BackwardCounterexample",
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
    "Formula",
    "FormulaProof",
    "Identity",
    "LayerProof",
    "LayerSymbols",
    "Linear",
    "LipschitzCheck",
    "LipschitzReport",
    "LipschitzRow",
    "MatrixEntries",
    "MatrixStructure",
    "MemoryLimitError",
    "Network",
    "NetworkProof",
    "Node",
    "OperatorNorm",
    "Pad",
    "Parallel",
    "PoolSpec",
    "ProofCounterexample",
    "ProofResult",
    "ReceptiveRegion",
    "Relationship",
    "Residual",
    "Row",
    "Sequential",
    "SlidingSumEstimate",
    "Spec",
    "Summary",
    "UnevaluatedSum",
    "UnexercisedWarning",
    "__version__",
    "adjoint_check",
    "analyze",
    "assert_backward_matches",
    "assert_conv_matches",
    "axis_patterns",
    "bias_vector",
    "check_conv",
    "check_conv_backward",
    "check_conv_transpose",
    "check_conv_transpose_backward",
    "check_lipschitz",
    "check_pool",
    "check_pool_backward",
    "coefficient_table",
    "conv",
    "conv_backward",
    "conv_matrix",
    "estimate_bytes",
    "framework_formula",
    "framework_formula_proofs",
    "input_sizes_with_same_output",
    "inverse_output_padding",
    "layer_symbols",
    "lipschitz_report",
    "load_network",
    "macs_formula",
    "matrix_conventions",
    "matrix_entries",
    "matrix_structure",
    "max_pool_indices",
    "max_unpool",
    "network_from_dict",
    "network_from_json",
    "nnz",
    "operator_norm",
    "output_padding_for_size",
    "output_size_formula",
    "padding_for_output",
    "padding_options",
    "params_formula",
    "pool_backward",
    "prove",
    "prove_backward",
    "prove_backward_general",
    "prove_formula_equal",
    "prove_function",
    "prove_general",
    "prove_network",
    "receptive_region",
    "relationship",
    "relationships",
    "singular_values",
    "sliding_sum",
    "sliding_sum_estimate",
    "sliding_sum_unevaluated",
    "spec_from_dict",
    "strategies",
    "summary",
    "to_dense",
    "to_latex",
    "to_mtx",
    "to_npz",
    "to_torch_sparse",
    "transpose_of",
]
