"""The matplotlib Figure convproof's pictures return: one that shows itself in Jupyter.

Imported only when a picture is drawn (matplotlib is an optional extra).  No pyplot state
is touched and the backend is left alone: ``Figure.savefig`` renders with Agg by itself.
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure

__all__ = ["InlineFigure"]


class InlineFigure(Figure):
    """A plain :class:`matplotlib.figure.Figure` with ``_repr_png_``.

    Jupyter (IPython's display formatters) calls ``_repr_png_`` to show an object, so a
    picture returned by :mod:`convproof.presentation.render` displays inline as the last expression
    of a
    cell or through ``display(fig)``, without pyplot and without a helper.
    """

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=90)
        return buf.getvalue()
