"""Stage 1 — what a layer is: the validated, frozen layer specs (:mod:`.spec`) and the one
integer rule for sizes along an axis (:mod:`.sizes`).
"""
