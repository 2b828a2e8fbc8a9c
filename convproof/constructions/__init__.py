"""Stage 3 — the constructions of one layer's map: the sliding-window sums written from the
definition (:mod:`.sliding_sum`), the per-axis index rule (:mod:`.index`), the sparse conv matrix
built from it (:mod:`.matrix`) with its closed-form non-zero count and block structure
(:mod:`.structure`), the fast numeric convolution (:mod:`.numeric`) and the backward
passes (:mod:`.backward`).
"""
