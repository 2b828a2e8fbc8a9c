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

from convproof.errors import ConvProofError, MemoryLimitError
from convproof.layers.spec import (
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
# Public names by the module that defines them, in pipeline order (layers and errors are
# imported above).
_EXPORTS: dict[str, str] = {
    "settings": "DEFAULT_MAX_BYTES get_max_bytes memory_limit resolve_max_bytes set_max_bytes",
    "layers.size_sets": "SizeSet",
    "layers.layout": (
        "DATA_LAYOUTS WEIGHT_LAYOUTS DataLayout WeightLayout parse_layout parse_weight_layout"
    ),
    "formulas.derived": "SYMBOLS Formula macs_formula output_size_formula params_formula",
    "formulas.equality": "FormulaProof prove_formula_equal",
    "formulas.theorems": (
        "Relationship framework_formula framework_formula_proofs relationship relationships"
    ),
    "formulas.inverse": (
        "input_sizes_with_same_output inverse_output_padding output_padding_for_size "
        "padding_for_output padding_options transpose_of"
    ),
    "constructions.sliding_sum": (
        "LayerSymbols SlidingSumEstimate UnevaluatedSum layer_symbols sliding_sum "
        "sliding_sum_estimate sliding_sum_unevaluated"
    ),
    "constructions.index": "AxisPattern axis_patterns",
    "constructions.matrix": "MatrixEntries bias_vector conv_matrix estimate_bytes matrix_entries",
    "constructions.structure": "BlockLevel MatrixStructure matrix_structure nnz",
    "constructions.numeric": "conv",
    "constructions.backward": "conv_backward",
    "constructions.backward_pool": "max_pool_indices max_unpool pool_backward",
    "constructions.onnx_indices": "onnx_max_pool_indices",
    "proofs.result": "ProofCounterexample ProofResult",
    "proofs.concrete": "coefficient_table prove",
    "proofs.function": "prove_function",
    "proofs.general": "GENERAL_KINDS prove_general",
    "proofs.backward": "adjoint_check prove_backward",
    "proofs.backward_general": "prove_backward_general",
    "testing.strategies": "ConvProblem",
    "testing.reports": "CheckResult Counterexample UnexercisedWarning",
    "testing.check": "LAYOUTS assert_conv_matches check_conv check_conv_transpose check_pool",
    "testing.check_backward": (
        "BackwardCounterexample assert_backward_matches check_conv_backward "
        "check_conv_transpose_backward check_pool_backward"
    ),
    "frameworks.agreement": "Agreement agreement",
    "frameworks.port": "FRAMEWORKS Port port",
    "frameworks.describe": (
        "onnx_node spec_from_jax_conv spec_from_onnx_node specs_from_onnx_model"
    ),
    "frameworks.torch_modules": "TORCH_MODULES spec_from_torch torch_module weights_from_torch",
    "frameworks.keras": (
        "KERAS_LAYERS keras_config keras_layout spec_from_keras weight_from_keras weight_to_keras"
    ),
    "networks.layers": (
        "Activation AdaptivePool Add BatchNorm Concat Dropout Flatten Identity Linear Pad"
    ),
    "networks.resampling": "Interpolate PixelShuffle PixelUnshuffle",
    "networks.graph": "NodeResult Network Node Parallel Residual Sequential analyze",
    "networks.zoo": "NETWORKS load_network network_from_dict network_from_json",
    "networks.summary": "ConvProofWarning ReceptiveRegion Row Summary receptive_region summary",
    "networks.torch_export": "network_to_json",
    "networks.proof": "LayerProof NetworkProof prove_network",
    "networks.sizes": "ValidSizes export_dynamic_shapes valid_input_sizes",
    "networks.closed_form": "ClosedForm closed_form",
    "spectrum.singular_values": "singular_values",
    "spectrum.operator_norm": "OperatorNorm operator_norm",
    "spectrum.lipschitz": (
        "LipschitzCheck LipschitzReport LipschitzRow check_lipschitz lipschitz_report"
    ),
    "presentation.export": (
        "DENSE_MAX_ELEMENTS matrix_conventions to_dense to_latex to_mtx to_npz to_torch_sparse"
    ),
}
_LAZY = {name: module for module, names in _EXPORTS.items() for name in names.split()}
# Public module paths kept as attributes (``cp.strategies``) for compatibility.
_SUBMODULES = {
    "strategies": "testing.strategies",
    "render": "presentation.render",
    "oracles": "testing.oracles",
    "examples": "testing.faulty_convs",
}

if TYPE_CHECKING:
    from convproof.constructions.backward import *  # noqa: F403
    from convproof.constructions.backward_pool import *  # noqa: F403
    from convproof.constructions.index import AxisPattern as AxisPattern
    from convproof.constructions.index import axis_patterns as axis_patterns
    from convproof.constructions.matrix import *  # noqa: F403
    from convproof.constructions.numeric import *  # noqa: F403
    from convproof.constructions.onnx_indices import *  # noqa: F403
    from convproof.constructions.sliding_sum import *  # noqa: F403
    from convproof.constructions.structure import *  # noqa: F403
    from convproof.formulas.derived import *  # noqa: F403
    from convproof.formulas.equality import *  # noqa: F403
    from convproof.formulas.inverse import *  # noqa: F403
    from convproof.formulas.theorems import *  # noqa: F403
    from convproof.frameworks.agreement import *  # noqa: F403
    from convproof.frameworks.describe import *  # noqa: F403
    from convproof.frameworks.keras import *  # noqa: F403
    from convproof.frameworks.port import *  # noqa: F403
    from convproof.frameworks.torch_modules import *  # noqa: F403
    from convproof.layers.layout import *  # noqa: F403
    from convproof.layers.size_sets import *  # noqa: F403
    from convproof.networks.closed_form import *  # noqa: F403
    from convproof.networks.graph import *  # noqa: F403
    from convproof.networks.layers import *  # noqa: F403
    from convproof.networks.proof import *  # noqa: F403
    from convproof.networks.resampling import *  # noqa: F403
    from convproof.networks.sizes import *  # noqa: F403
    from convproof.networks.summary import *  # noqa: F403
    from convproof.networks.torch_export import *  # noqa: F403
    from convproof.networks.zoo import *  # noqa: F403
    from convproof.presentation.export import *  # noqa: F403
    from convproof.proofs.backward import *  # noqa: F403
    from convproof.proofs.backward_general import *  # noqa: F403
    from convproof.proofs.concrete import *  # noqa: F403
    from convproof.proofs.function import *  # noqa: F403
    from convproof.proofs.general import *  # noqa: F403
    from convproof.proofs.result import *  # noqa: F403
    from convproof.settings import *  # noqa: F403
    from convproof.spectrum.lipschitz import *  # noqa: F403
    from convproof.spectrum.operator_norm import *  # noqa: F403
    from convproof.spectrum.singular_values import *  # noqa: F403
    from convproof.testing import strategies
    from convproof.testing.check import *  # noqa: F403
    from convproof.testing.check_backward import *  # noqa: F403
    from convproof.testing.reports import *  # noqa: F403
    from convproof.testing.strategies import ConvProblem as ConvProblem


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"convproof.{_LAZY[name]}"), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"convproof.{_SUBMODULES[name]}")
    else:
        raise AttributeError(f"module 'convproof' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "PADDING_MODES",
    "PADDING_NAMES",
    "ConvProofError",
    "ConvSpec",
    "ConvTransposeSpec",
    "MemoryLimitError",
    "PoolSpec",
    "Spec",
    "__version__",
    "spec_from_dict",
    "strategies",
]
__all__ += sorted(_LAZY)
