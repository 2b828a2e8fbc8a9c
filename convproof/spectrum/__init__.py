"""Stage 7 — the operator's spectrum: singular values, certified operator norms and Lipschitz
reports and checks (:mod:`.operator`).
"""
