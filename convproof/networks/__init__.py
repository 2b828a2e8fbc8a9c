"""Stage 6 — networks of layers.

:mod:`.protocol` (the one protocol every layer kind implements: a new kind is one class),
:mod:`.layers` (the built-in kinds), :mod:`.spec_layers` (the specs as layers), :mod:`.graph`
(nodes, networks and :func:`~convproof.analyze`), :mod:`.receptive` (receptive fields, in one
place), :mod:`.zoo` (JSON and the shipped networks), :mod:`.summary` (per-layer summaries, data)
and :mod:`.tables` (their text, Markdown and JSON forms), :mod:`.proof` (proofs layer by layer),
:mod:`.torch_import` (reading PyTorch models), :mod:`.values` (exact values and argument checks).
"""
