"""Text, LaTeX, JSON and pictures: how convproof shows a layer to a person (``cp.render``).

This module is the public face of the presentation stage; the work lives in modules named
for their job, re-exported here:

=========================================  ================================================
:mod:`convproof.presentation.text`         :func:`element_sum` (the exact sum behind one
                                           output element, as text, LaTeX or JSON),
                                           :func:`shape_report`, :func:`format_table`,
                                           :func:`to_json`
:mod:`convproof.presentation.figures`      :func:`matrix_figure`, :func:`receptive_field_figure`
:mod:`convproof.presentation.animation`    :func:`sliding_figure`, :func:`sliding_animation`
:mod:`convproof.presentation.receptive`    :func:`receptive_field`
=========================================  ================================================

Presentation computes nothing of its own: sums are read off the index rule
(:mod:`convproof.constructions.index`), sizes come from :mod:`convproof.layers.sizes`,
matrices from :func:`convproof.conv_matrix`.  Pictures need matplotlib, an optional extra
(``pip install matplotlib``); every figure is a :class:`matplotlib.figure.Figure` (no pyplot
state; it shows itself in Jupyter through ``_repr_png_``) with a legend.

Examples
--------
>>> import convproof as cp
>>> from convproof.presentation.render import element_sum
>>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2)
>>> print(element_sum(spec, (1, 3, 3), (0, 0, 0)).text())
Z[0,0,0] = b[0]
  + (channel 0)  X[0,0,0]*W[0,0,0,0] + X[0,0,1]*W[0,0,0,1]
               + X[0,1,0]*W[0,0,1,0] + X[0,1,1]*W[0,0,1,1]
4 products (1 input channel x 4 taps), plus the bias b[0]
"""

from __future__ import annotations

from convproof.presentation.animation import sliding_animation, sliding_figure
from convproof.presentation.figures import matrix_figure, receptive_field_figure
from convproof.presentation.receptive import receptive_field
from convproof.presentation.text import (
    ElementSum,
    Term,
    element_sum,
    format_table,
    shape_report,
    to_json,
)

__all__ = [
    "ElementSum",
    "Term",
    "element_sum",
    "format_table",
    "matrix_figure",
    "receptive_field",
    "receptive_field_figure",
    "shape_report",
    "sliding_animation",
    "sliding_figure",
    "to_json",
]
