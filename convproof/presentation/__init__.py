"""Stage 8 — presentation, which computes nothing of its own: text and figures (:mod:`.render`,
:mod:`.figure`), matrix export (:mod:`.export`) and the ``convproof`` command (:mod:`.cli`,
:mod:`.parse`).
"""
