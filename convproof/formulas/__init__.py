"""Stage 2 — sizes and formulas: SymPy formulas derived by counting window positions
(:mod:`.derived`), proofs that two formulas are equal (:mod:`.equality`), the theorems that
framework formulas and Dumoulin & Visin's relationships agree with the derived ones
(:mod:`.theorems`), the inverse problems (:mod:`.inverse`) and the exhaustive case split
that proves floor/ceil identities (:mod:`.decide`).
"""
