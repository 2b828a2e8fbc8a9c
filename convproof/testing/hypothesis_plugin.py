"""Hypothesis entry point: registers convproof's strategies for ``st.from_type``.

Hypothesis calls :func:`_hypothesis_setup_hook` when it is imported (the ``"hypothesis"``
entry point in ``pyproject.toml``).  Registration is lazy (``st.deferred``) so importing
Hypothesis does not import SymPy or SciPy through convproof.
"""

from __future__ import annotations


def _hypothesis_setup_hook() -> None:
    """Register strategies for the spec types (filled in by ``convproof.testing.strategies``)."""
    import importlib.util

    if importlib.util.find_spec("convproof.testing.strategies") is None:  # pragma: no cover
        return
    from hypothesis import strategies as st

    from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec

    def lazy(name: str) -> st.SearchStrategy:
        def build() -> st.SearchStrategy:
            strategies = importlib.import_module("convproof.testing.strategies")
            built: st.SearchStrategy = getattr(strategies, name)()
            return built

        return st.deferred(build)

    st.register_type_strategy(ConvSpec, lazy("conv_specs"))
    st.register_type_strategy(ConvTransposeSpec, lazy("conv_transpose_specs"))
    st.register_type_strategy(PoolSpec, lazy("pool_specs"))
