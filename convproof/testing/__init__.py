"""Stage 5 — tools for testing other people's convolution code.

- Hypothesis strategies: :mod:`.strategies` (the public names; ``cp.strategies``), built from
  :mod:`.spec_strategies` (layer specs) and :mod:`.problem_strategies` (shapes, values,
  problems);
- checkers: :mod:`.check` (forward) and :mod:`.check_backward`, sharing :mod:`.runner` (the
  reference, the allowed deviation, one Hypothesis run), :mod:`.calling` (how the user's
  function is called: signature, PyTorch tensors, layouts) and :mod:`.reports`
  (:class:`CheckResult`, :class:`Counterexample`);
- framework oracles (:mod:`.oracles`) and deliberately faulty convolutions to try the
  checkers on (:mod:`.faulty_convs`).
"""
