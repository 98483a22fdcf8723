"""Small ONNX graphs built by the tests (no weights are shipped or downloaded).

* `constant_output_model`: ignores the image and emits a known tensor (repeated
  over the batch), so decoding, NMS and box geometry can be checked exactly.
* `brightness_detector`: a real convolutional detector with dynamic axes in
  the YOLOv5 layout: every stride-cell whose mean brightness is high becomes
  an 'animal' box covering that cell.  Cell centres come from CumSum over the
  input, so the output size follows the input shape like a real model's.
* `tiny_classifier`: a species classifier (global average colour -> logits).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def _save(graph, path: Path, metadata: dict[str, str] | None = None) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    for k, v in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(model)
    path = Path(path)
    onnx.save(model, str(path))
    return path


def _const(name: str, value) -> onnx.NodeProto:
    arr = np.asarray(value)
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(arr, name + "_v"))


def constant_output_model(path, output: np.ndarray, *, input_shape=("batch", 3, "height", "width"),
                          metadata: dict[str, str] | None = None) -> Path:
    """A model whose output is `output` (``[1, a, b]``) expanded to the input's batch size."""
    output = np.asarray(output, dtype=np.float32)
    assert output.ndim == 3 and output.shape[0] == 1
    nodes = [
        _const("table", output),
        helper.make_node("Shape", ["images"], ["in_shape"]),
        _const("zero", np.array([0], np.int64)),
        _const("one", np.array([1], np.int64)),
        helper.make_node("Slice", ["in_shape", "zero", "one"], ["batch"]),
        _const("rest", np.array(output.shape[1:], np.int64)),
        helper.make_node("Concat", ["batch", "rest"], ["out_shape"], axis=0),
        helper.make_node("Expand", ["table", "out_shape"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes, "constant_detector",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT,
                                       ["batch", int(output.shape[1]), int(output.shape[2])])])
    return _save(graph, path, metadata)


def fixed_size_inside_model(path, output: np.ndarray, *, size: int = 64) -> Path:
    """Declares dynamic axes but reshapes its input to [1, 3, size, size] inside, so any
    other input size fails in onnxruntime at run time (a real inference error)."""
    output = np.asarray(output, dtype=np.float32)
    nodes = [
        _const("fixed", np.array([1, 3, size, size], np.int64)),
        helper.make_node("Reshape", ["images", "fixed"], ["pinned"]),
        helper.make_node("ReduceSum", ["pinned"], ["total"], keepdims=0),
        _const("f_zero", np.array(0, np.float32)),
        helper.make_node("Mul", ["total", "f_zero"], ["nothing"]),
        _const("table", output),
        helper.make_node("Add", ["table", "nothing"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes, "fixed_inside",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, "height", "width"])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(output.shape))])
    return _save(graph, path)


def brightness_detector(path, *, stride: int = 8, class_scores=(0.9, 0.06, 0.04),
                        dynamic: bool = True, size: int = 64, batch: int = 1,
                        metadata: dict[str, str] | None = None) -> Path:
    """YOLOv5-layout detector that boxes bright cells (see module docstring); with
    ``dynamic`` false its input is fixed to ``[batch, 3, size, size]``."""
    s = stride
    nc = len(class_scores)
    mean_kernel = np.full((1, 3, s, s), 1.0 / (3 * s * s), np.float32)
    pool = dict(kernel_shape=[s, s], strides=[s, s])
    nodes = [
        _const("c_starts", np.array([0], np.int64)), _const("c_ends", np.array([1], np.int64)),
        _const("c_axes", np.array([1], np.int64)),
        helper.make_node("Slice", ["images", "c_starts", "c_ends", "c_axes"], ["chan0"]),
        _const("f_zero", np.array(0, np.float32)), _const("f_one", np.array(1, np.float32)),
        helper.make_node("Mul", ["chan0", "f_zero"], ["zeros"]),
        helper.make_node("Add", ["zeros", "f_one"], ["ones"]),
        _const("ax_w", np.array(3, np.int64)), _const("ax_h", np.array(2, np.int64)),
        helper.make_node("CumSum", ["ones", "ax_w"], ["col_index"]),  # 1..W along x
        helper.make_node("CumSum", ["ones", "ax_h"], ["row_index"]),
        helper.make_node("AveragePool", ["col_index"], ["cx_plus"], **pool),
        helper.make_node("AveragePool", ["row_index"], ["cy_plus"], **pool),
        _const("half", np.array(0.5, np.float32)),
        helper.make_node("Sub", ["cx_plus", "half"], ["cx"]),  # pixel-centre of each cell
        helper.make_node("Sub", ["cy_plus", "half"], ["cy"]),
        helper.make_node("AveragePool", ["ones"], ["cell_ones"], **pool),
        _const("cell", np.array(float(s), np.float32)),
        helper.make_node("Mul", ["cell_ones", "cell"], ["wh"]),
        _const("mean_w", mean_kernel),
        helper.make_node("Conv", ["images", "mean_w"], ["bright"], kernel_shape=[s, s], strides=[s, s]),
        _const("gain", np.array(40.0, np.float32)), _const("level", np.array(0.7, np.float32)),
        helper.make_node("Sub", ["bright", "level"], ["b0"]),
        helper.make_node("Mul", ["b0", "gain"], ["b1"]),
        helper.make_node("Sigmoid", ["b1"], ["obj"]),
    ]
    cls_names = []
    for i, p in enumerate(class_scores):
        nodes.append(_const(f"p{i}", np.array(p, np.float32)))
        nodes.append(helper.make_node("Mul", ["cell_ones", f"p{i}"], [f"cls{i}"]))
        cls_names.append(f"cls{i}")
    nodes += [
        helper.make_node("Concat", ["cx", "cy", "wh", "wh", "obj", *cls_names], ["grid_out"], axis=1),
        _const("flat", np.array([0, 5 + nc, -1], np.int64)),
        helper.make_node("Reshape", ["grid_out", "flat"], ["rows_t"]),
        helper.make_node("Transpose", ["rows_t"], ["output0"], perm=[0, 2, 1]),
    ]
    in_shape = ["batch", 3, "height", "width"] if dynamic else [batch, 3, size, size]
    out_rows = "anchors" if dynamic else (size // s) ** 2
    graph = helper.make_graph(
        nodes, "brightness_detector",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT,
                                       [in_shape[0], out_rows, 5 + nc])])
    meta = {"stride": str(s)}
    meta.update(metadata or {})
    return _save(graph, path, meta)


def tiny_classifier(path, weights: np.ndarray, *, size: int | str = 32, layout: str = "NCHW",
                    softmax: bool = False) -> Path:
    """Classifier: logits = mean colour (3 values, after the caller's normalisation) @ weights.

    `weights` is ``[3, n_labels]``.  With `softmax` the graph outputs probabilities; a
    string `size` makes height and width dynamic axes.
    """
    weights = np.asarray(weights, np.float32)
    if layout == "NCHW":
        in_shape, axes = ["batch", 3, size, size], [2, 3]
    else:
        in_shape, axes = ["batch", size, size, 3], [1, 2]
    nodes = [
        helper.make_node("ReduceMean", ["input"], ["mean_rgb"], axes=axes, keepdims=0),
        _const("W", weights),
        helper.make_node("MatMul", ["mean_rgb", "W"], ["logits" if softmax else "scores"]),
    ]
    if softmax:
        nodes.append(helper.make_node("Softmax", ["logits"], ["scores"], axis=1))
    graph = helper.make_graph(
        nodes, "tiny_classifier",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", weights.shape[1]])])
    return _save(graph, path)
