"""Stage 6 — networks of layers: the graph and its layer kinds (:mod:`.graph`), per-layer summaries
(:mod:`.summary`), proofs layer by layer (:mod:`.proof`) and reading PyTorch models
(:mod:`.torch_import`).
"""
