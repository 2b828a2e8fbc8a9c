"""Stage 2 — sizes and formulas: SymPy formulas derived by counting window positions and the
theorems that framework formulas agree (:mod:`.derived`), the inverse problems (:mod:`.inverse`)
and the exhaustive case split that proves floor/ceil identities (:mod:`.decide`).
"""
