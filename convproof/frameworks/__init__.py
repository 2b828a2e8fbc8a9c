"""Frameworks: where two layers agree, ports between frameworks, ONNX operator cases."""
