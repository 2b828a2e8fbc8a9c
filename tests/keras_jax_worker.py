"""Run Keras layers' JAX ports on saved problems; the JAX half of tests/test_keras_jax.py.

A process that has loaded TensorFlow 2.21 can abort on a JAX (XLA) compile, so the test
computes the Keras outputs in its own process, saves them with the inputs and weights, and
runs this script in a fresh interpreter::

    python keras_jax_worker.py CASES.npz [--planted flipped_kernel]

For each case it imports the spec(s) (``spec_from_dict``), builds ``cp.port(spec, to="jax")``,
applies the port's ``transform_input`` / ``transform_weight``, calls ``port.function`` with
``port.params`` (adding the bias on the channels-last output, as the port's code does),
applies ``transform_output`` and compares with the Keras output at float tolerance.  It
prints one JSON object: ``checked``, ``refused`` (the port's stated refusals) and
``failure`` (the first mismatching case, or null).  ``--planted flipped_kernel`` flips every
ported kernel along its spatial axes: a port with that defect, which the harness must catch.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

import numpy as np

import convproof as cp

RTOL, ATOL = 1e-5, 1e-3


def _resolve(dotted: str) -> Any:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _run_port(port: cp.Port, x: np.ndarray, w: Any, b: Any, planted: str | None) -> np.ndarray:
    import jax.numpy as jnp

    fn = _resolve(port.function)
    xt = jnp.asarray(port.transform_input(x))
    params = dict(port.params)
    if w is None:  # reduce_window: the init value and the computation are spelled as text
        init = -jnp.inf if params.pop("init_value") == "-inf" else 0.0
        params["computation"] = _resolve(params["computation"])
        y = np.asarray(fn(xt, init, **params))
    else:
        wt = port.transform_weight(w)
        if planted == "flipped_kernel":
            wt = np.flip(wt, axis=tuple(range(port.source.ndim)))  # (*k, I, O): flip the taps
        y = np.asarray(fn(xt, jnp.asarray(np.ascontiguousarray(wt)), **params))
        if b is not None:
            y = y + np.asarray(b)  # channels last, before the output transform
    return port.transform_output(y)


def _failure(case: dict[str, Any], i: int, **detail: Any) -> dict[str, Any]:
    specs = [stage["spec"] for stage in case["stages"]]
    return {"case": i, "layers": case["layers"], "specs": specs, **detail}


def main(argv: list[str]) -> dict[str, Any]:
    path = argv[0]
    planted = argv[2] if len(argv) > 2 and argv[1] == "--planted" else None
    data = np.load(path, allow_pickle=False)
    cases = json.loads(str(data["cases"]))
    checked, refused = 0, []
    for i, case in enumerate(cases):
        y = data[f"x{i}"]
        try:
            for j, stage in enumerate(case["stages"]):
                port = cp.port(cp.spec_from_dict(stage["spec"]), to="jax")
                if y.shape[2:] not in port.agrees_for:
                    failure = _failure(case, i, why=f"size {y.shape[2:]} outside agrees_for")
                    return {"checked": checked, "refused": refused, "failure": failure}
                w = data[f"w{i}_{j}"] if stage["weight"] else None
                b = data[f"b{i}_{j}"] if stage["bias"] else None
                y = _run_port(port, y, w, b, planted)
        except cp.ConvProofError as exc:  # a stated refusal: counted, not compared
            refused.append({"case": i, "why": str(exc)})
            continue
        want = data[f"y{i}"]
        if y.shape != want.shape or not np.allclose(y, want, rtol=RTOL, atol=ATOL):
            diff = float(np.max(np.abs(y - want))) if y.shape == want.shape else None
            failure = _failure(case, i, shape=list(y.shape), want_shape=list(want.shape),
                               max_abs_diff=diff)  # fmt: skip
            return {"checked": checked, "refused": refused, "failure": failure}
        checked += 1
    return {"checked": checked, "refused": refused, "failure": None}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
