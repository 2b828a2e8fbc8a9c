"""Stage 8 — presentation, which computes nothing of its own.

Text, LaTeX and JSON reports (:mod:`.text`), pictures (:mod:`.figures`, :mod:`.animation`,
:mod:`.inline_figure`), receptive fields (:mod:`.receptive`), all re-exported by the public
facade :mod:`.render` (``cp.render``); matrix export (:mod:`.export`); the ``convproof``
command (:mod:`.cli`, with its subcommands in :mod:`.cli_layer`, :mod:`.cli_proof`,
:mod:`.cli_network`, :mod:`.cli_options`, and user text parsed by :mod:`.parse`).
"""
