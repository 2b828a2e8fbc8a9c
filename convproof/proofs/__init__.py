"""Stage 4 — proofs that independent constructions are the same map: concrete layers and
user-supplied matrices or functions (:mod:`.concrete`), every size at once (:mod:`.general`),
backward passes (:mod:`.backward`).
"""
