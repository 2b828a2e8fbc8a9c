"""What each framework accepts: the legality rules as data, each checked by running it.

The table lives in :mod:`convproof.layers.legality` (the specs' ``legality=`` profiles
enforce its *spec rules*); this module re-checks it and reports the *call rules* a spec
breaks when ported.  The table records where the frameworks differ, as observed by running
each rule's witness (a small call that breaks the rule) on PyTorch 2.13, JAX 0.10 (CPU),
onnxruntime 1.32 (opset 19) and TensorFlow 2.21 (CPU, ``tf.nn`` ops; Keras 3.15 layers where
``tf.nn`` has no such argument); ``tests/test_legality.py`` re-runs every witness on
whatever is installed and fails when a framework's behaviour no longer matches the table.
``None`` marks a framework without the argument.

==================================  =======  ====  =====  ==========
rule                                pytorch  onnx  jax    tensorflow
==================================  =======  ====  =====  ==========
negative_padding                    no       yes   yes    no
transposed_negative_padding         no       yes   yes    no
pool_negative_padding               no       no    yes    no
empty_output                        no       no    yes    no (a)
pool_padding_over_half_kernel       no       yes   yes    yes
pool_padding_at_least_kernel        no       no    yes    no
avg_pool_dilation                   no       yes   yes    yes
same_with_stride                    no       yes   yes    yes
same_with_dilation                  yes      no    yes    yes
output_padding_at_least_stride      yes      no    --     no (b)
padding_modes_in_the_call           yes      no    no     no
==================================  =======  ====  =====  ==========

(``onnx`` is onnxruntime's CPU kernels; ONNX's spec text is stricter on negative pads.)
(a) Keras refuses it; ``tf.nn.conv2d`` raises nothing but, with oneDNN on (TF's default on
x86 CPUs), returns a wrong-shaped tensor of uninitialised memory, and ``tf.nn.max_pool2d``
kills the process (SIGFPE); with ``TF_ENABLE_ONEDNN_OPTS=0`` both return an empty output.
(b) Keras's ``Conv2DTranspose``; ``tf.nn.conv_transpose`` takes an output shape instead.
Explicit pooling padding is ``tf.nn.max_pool2d``'s (``avg_pool`` accepts names only).

Examples
--------
>>> import convproof as cp
>>> from convproof.frameworks.legality import breaks
>>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, dilation=2,
...                    padding="SAME_UPPER", padding_mode="reflect")
>>> breaks(spec, "onnx")
('same_with_dilation', 'padding_modes_in_the_call')
>>> breaks(spec, "jax")
('padding_modes_in_the_call',)
"""

from __future__ import annotations

from convproof.errors import ConvProofError
from convproof.layers.legality import LEGALITY_PROFILES, RULES, Rule
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec

__all__ = ["PROFILES", "RULES", "Rule", "breaks", "legality_table"]

#: The profile names (the table lives in :mod:`convproof.layers.legality`, which the specs read).
PROFILES = LEGALITY_PROFILES
_BY_NAME = {r.name: r for r in RULES}


def breaks(spec: ConvSpec | ConvTransposeSpec | PoolSpec, profile: str) -> tuple[str, ...]:
    """The rules of ``profile`` that a (PyTorch-legal) spec breaks when called natively.

    A port (:func:`convproof.port`) works around each: an explicit pre-pad for padding modes,
    padding fixed for the input shape for SAME, less end padding for a large output_padding.

    Raises
    ------
    ConvProofError
        For an unknown profile.
    """
    if profile not in PROFILES:
        raise ConvProofError(
            f"profile must be one of {', '.join(map(repr, PROFILES))}, got profile={profile!r}"
        )
    found = []
    same = spec.padding in ("SAME_UPPER", "SAME_LOWER")
    if same and max(spec.stride) > 1:
        found.append("same_with_stride")
    if same and max(spec.dilation) > 1:
        found.append("same_with_dilation")
    if isinstance(spec, ConvTransposeSpec) and any(
        o >= s for o, s in zip(spec.output_padding, spec.stride)
    ):
        found.append("output_padding_at_least_stride")
    if spec.padding_mode != "zeros":
        found.append("padding_modes_in_the_call")
    return tuple(n for n in found if _BY_NAME[n].accepted[profile] is False)


def legality_table() -> str:
    """The rules as a Markdown table (``yes`` / ``no`` / ``--`` no such argument)."""

    def cell(rule: Rule, p: str) -> str:
        v = rule.accepted[p]
        return "--" if v is None else ("yes" if v else "no")

    lines = ["| rule | question | " + " | ".join(PROFILES) + " |"]
    lines.append("|" + "---|" * (len(PROFILES) + 2))
    for r in RULES:
        lines.append(f"| {r.name} | {r.question} | " + " | ".join(cell(r, p) for p in PROFILES))
    return "\n".join(line if line.endswith("|") else line + " |" for line in lines)
