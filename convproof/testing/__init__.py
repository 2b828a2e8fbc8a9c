"""Stage 5 — tools for testing other people's convolution code: Hypothesis strategies
(:mod:`.strategies`), checkers (:mod:`.check`, :mod:`.check_backward`), framework oracles
(:mod:`.oracles`) and deliberately faulty convolutions to try them on (:mod:`.faulty_convs`).
"""
