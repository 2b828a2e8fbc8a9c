"""Stage 1 — what a layer is: the validated, frozen layer specs (:mod:`.spec`, sharing the
window base and argument normalizers of :mod:`.window`), the padding-mode table
(:mod:`.padding`) and the one integer rule for sizes along an axis (:mod:`.sizes`).
"""
