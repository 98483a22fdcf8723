"""Test helpers for detection: tiny ONNX detectors built here, images and Media rows.

The detectors ignore image content and emit a fixed YOLOv5-layout table
(``[1, N, 5 + 3]``: centre x, centre y, width, height in input pixels,
objectness, three class scores), so stored boxes are known exactly. With
``square_only`` the graph also reshapes its input to a 64x64 square, which
onnxruntime refuses for any other input shape: a per-image inference failure.
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

# One animal (conf 0.9*0.9) at the top left, one person (0.8*0.85) at the bottom right of a 64x64 input.
ANIMAL_AND_PERSON = [[20, 20, 16, 16, 0.9, 0.9, 0.05, 0.05],
                     [44, 44, 16, 16, 0.8, 0.1, 0.85, 0.05]]
ANIMAL_ONLY = [[32, 32, 32, 32, 0.95, 0.9, 0.05, 0.05]]
NOTHING = [[32, 32, 32, 32, 0.001, 0.9, 0.05, 0.05]]


def _const(name, value):
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.asarray(value), name + "_v"))


def constant_detector(path: Path, rows=ANIMAL_AND_PERSON, *, square_only: bool = False) -> Path:
    """A dynamic-axes detector emitting ``rows`` for every image (see module docstring)."""
    table = np.asarray([rows], np.float32)
    nodes = [
        _const("table", table),
        helper.make_node("Shape", ["images"], ["in_shape"]),
        _const("zero", np.array([0], np.int64)), _const("one", np.array([1], np.int64)),
        helper.make_node("Slice", ["in_shape", "zero", "one"], ["batch"]),
        _const("rest", np.array(table.shape[1:], np.int64)),
        helper.make_node("Concat", ["batch", "rest"], ["out_shape"], axis=0),
    ]
    if square_only:
        nodes += [
            _const("sq", np.array([-1, 3 * 64 * 64], np.int64)),
            helper.make_node("Reshape", ["images", "sq"], ["flat"]),
            helper.make_node("ReduceSum", ["flat"], ["s"], keepdims=0),
            _const("fz", np.array(0.0, np.float32)),
            helper.make_node("Mul", ["s", "fz"], ["zero_f"]),
            helper.make_node("Add", ["table", "zero_f"], ["table2"]),
            helper.make_node("Expand", ["table2", "out_shape"], ["output0"]),
        ]
    else:
        nodes.append(helper.make_node("Expand", ["table", "out_shape"], ["output0"]))
    graph = helper.make_graph(
        nodes, "constant_detector",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, "height", "width"])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", table.shape[1], 8])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for k, v in {"stride": "16", "names": "{0: 'animal', 1: 'person', 2: 'vehicle'}", "imgsz": "[64, 64]"}.items():
        e = model.metadata_props.add()
        e.key, e.value = k, v
    onnx.checker.check_model(model)
    path = Path(path)
    onnx.save(model, str(path))
    return path


def jpeg_bytes(size=(128, 128), color=(90, 140, 60), seed: int = 0) -> bytes:
    """A small JPEG with some texture (so blurring visibly changes it)."""
    rng = np.random.default_rng(seed)
    arr = np.clip(rng.normal(0, 60, (size[1], size[0], 3)) + np.array(color), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=92)
    return buf.getvalue()


def add_media(app, deployment_id: str | None, file_name: str, data: bytes, *, file_path: str | None = None,
              kind: str = "image") -> str:
    """Store ``data`` in the media store and create its Media row; returns the media id."""
    from server.db import session_scope
    from server.models import Media
    from server.storage import get_store

    sha = hashlib.sha256(data).hexdigest()
    store = get_store(app)
    key = store.key_for(sha, Path(file_name).suffix)
    store.put_stream(io.BytesIO(data), key)
    with session_scope(app.config["DATABASE_URL"]) as s:
        m = Media(sha256=sha, kind=kind, deployment_id=deployment_id, file_name=file_name,
                  file_path=file_path or f"DCIM/100RECNX/{file_name}", media_type="image/jpeg",
                  size_bytes=len(data), storage_key=key)
        s.add(m)
        return m.id


def register_model(app, path: Path, name: str = "md_test", version: str = "1.0", **kw) -> str:
    """Register a model file directly (no CLI); returns its name@version."""
    from server.db import session_scope
    from server.detect.registry import add_model, model_key

    with session_scope(app.config["DATABASE_URL"]) as s:
        row = add_model(s, path, name, version=version, **kw)
        return model_key(row)


def setup_deployment(world, code: str = "PNKB"):
    """An area, a program and a camera deployment; returns (area, program, deployment_id)."""
    area = world.area(code=code, name=f"Area {code}")
    program = world.program(area.id)
    dep = world.deployment(program)
    return area, program, dep.id


def run_jobs(app) -> int:
    """Run every queued job in this thread (what a worker does)."""
    from server.jobs import drain

    return drain(app.config)


def quick_user(world, username: str, roles: dict | None = None, admin: bool = False):
    """A user who signs in with tokens only (no password hashing: argon2 is slow on purpose)."""
    from server.models import Membership, User

    with world.session() as s:
        u = User(username=username, password_hash="!token-only", is_admin=admin, language="en")
        s.add(u)
        s.flush()
        for area_id, role in (roles or {}).items():
            s.add(Membership(user_id=u.id, area_id=area_id, role=role))
        return u


def mean_colour_classifier(path: Path, weights, *, size=None) -> Path:
    """Species classifier: logits = mean RGB of the crop (in [0, 1]) @ ``weights`` ([3, n_labels]).

    ``size`` fixes the input to ``[batch, 3, size, size]``; without it the spatial axes are dynamic.
    """
    w = np.asarray(weights, np.float32)
    shape = ["batch", 3, size, size] if size else ["batch", 3, "h", "w"]
    nodes = [helper.make_node("ReduceMean", ["input"], ["mean_rgb"], axes=[2, 3], keepdims=0),
             _const("W", w), helper.make_node("MatMul", ["mean_rgb", "W"], ["logits"])]
    graph = helper.make_graph(nodes, "mean_colour_classifier",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", w.shape[1]])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return Path(path)


def brightness_detector(path: Path) -> Path:
    """A dynamic-axes detector whose one box (an animal filling the centre of the 64x64 input) has the
    objectness of the input's mean brightness (0..1), so its confidence (0.9 x brightness) follows
    the picture: a black frame finds nothing, a brighter frame a more confident animal."""
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], axes=[1, 2, 3], keepdims=1),  # [B,1,1,1]
        _const("shape3", np.array([-1, 1, 1], np.int64)),
        helper.make_node("Reshape", ["mean", "shape3"], ["obj"]),  # [B,1,1]
        helper.make_node("Shape", ["obj"], ["obj_shape"]),
        _const("left", np.array([[[32, 32, 32, 32]]], np.float32)),
        _const("right", np.array([[[0.9, 0.05, 0.05]]], np.float32)),
        _const("w4", np.array([1, 1, 4], np.int64)), _const("w3", np.array([1, 1, 3], np.int64)),
        helper.make_node("Mul", ["obj_shape", "w4"], ["left_shape"]),
        helper.make_node("Mul", ["obj_shape", "w3"], ["right_shape"]),
        helper.make_node("Expand", ["left", "left_shape"], ["left_b"]),
        helper.make_node("Expand", ["right", "right_shape"], ["right_b"]),
        helper.make_node("Concat", ["left_b", "obj", "right_b"], ["output0"], axis=2),
    ]
    graph = helper.make_graph(
        nodes, "brightness_detector",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, "height", "width"])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", 1, 8])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for k, v in {"stride": "16", "names": "{0: 'animal', 1: 'person', 2: 'vehicle'}", "imgsz": "[64, 64]"}.items():
        e = model.metadata_props.add()
        e.key, e.value = k, v
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return Path(path)


def make_video(path: Path, source: str = "color=c=white:s=320x240:r=10:d=3,fade=t=in:st=0:d=3") -> Path:
    """An H.264 MP4 made by ffmpeg from a lavfi ``source``; by default 3 s at 10 frames/s fading in from
    black to white (frame n has brightness about n/30)."""
    import shutil
    import subprocess

    exe = shutil.which("ffmpeg")
    assert exe, "ffmpeg is needed for the video tests (scripts/setup.sh installs it)"
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([exe, "-v", "error", "-y", "-f", "lavfi", "-i", source, "-c:v", "libx264", "-preset",
                    "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
                    "-metadata", "creation_time=2026-03-01T09:00:00Z", str(path)], check=True, timeout=60)
    return path
