"""Benchmark: Saola's MegaDetector pipeline (onnxruntime) vs bare inference and vs PyTorch.

Builds, at run time and in a temporary folder (never committed), a YOLOv5x6
network with MegaDetector v5a's shape (3 classes, ~140 M parameters, P3-P6,
dynamic axes) and random weights, plus the small YOLOv5s at 640, and
generates real-size 4:3 JPEGs.  For each model it reports:

  (a) bare onnxruntime inference, images/s, on pre-made input tensors;
  (b) Saola end to end, images/s: JPEG decode (draft mode: DCT-scaled to the
      model's size where that saves work), EXIF, letterbox in loader threads,
      inference, NMS at MegaDetector's 0.005 threshold, and an sqlite insert
      of the detections standing in for the database write; for the small
      model also (b') the same with full-size decoding (the reference pixels);
  (c) the reference PyTorch pipeline on the same network and weights (PIL
      decode, letterbox and /255 in torch, torch model, NMS in torch, same
      sqlite insert), if torch is installed.

PyTorch is a benchmark-only install (not in any extra):
    .venv/bin/pip install torch==2.13.0

Then videos (benchmarks/video_frames.py): an H.264 clip made with ffmpeg, one
frame every second through Saola's video path with the small model, against the
same frames extracted as JPEG stills through the photo pipeline and against bare
inference: ``BENCH video_frames_per_s``, ``video_vs_extract_then_detect``,
``video_vs_stills``, ``video_vs_bare``.

Usage:  .venv/bin/python benchmarks/detector.py [--quick] [--provider cpu|cuda] [--no-video]
Ends with ``BENCH end_to_end_vs_bare <(b)/(a)>`` and
``BENCH end_to_end_vs_pytorch <(b)/(c)>`` for the MDv5a-size model (the small
model in --quick mode).
"""

from __future__ import annotations

import argparse
import math
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import yolov5_arch as arch  # noqa: E402
from classifiers.megadetector import Detector, ProviderUnavailable, resolve_providers  # noqa: E402
from classifiers.pipeline import detect_paths  # noqa: E402

PUBLISHED_PARAMS = {"yolov5x6": 140.0e6, "yolov5s": 7.03e6}  # 3-class heads


def log(msg: str) -> None:
    print(msg, flush=True)


# -- inputs ---------------------------------------------------------------------------

def make_jpegs(folder: Path, n: int, size: tuple[int, int], seed: int = 1) -> list[Path]:
    """Camera-trap-like JPEGs: smooth scene, texture and sensor noise, quality 90."""
    w, h = size
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        coarse = rng.uniform(30, 220, (6, 8, 3)).astype(np.uint8)
        scene = np.asarray(Image.fromarray(coarse).resize((w, h), Image.BICUBIC), np.float32)
        texture = np.asarray(Image.fromarray(rng.integers(0, 255, (h // 8, w // 8), np.uint8))
                             .resize((w, h), Image.BILINEAR), np.float32)[..., None]
        img = scene * 0.8 + texture * 0.2 + rng.normal(0, 6, (h, w, 1)).astype(np.float32)
        path = folder / f"IMG_{i:04d}.JPG"
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path, quality=90)
        paths.append(path)
    return paths


def build_model(name: str, folder: Path, calib_image: Path) -> tuple[Path, tuple]:
    """Write the ONNX graph for a variant, with objectness calibrated on one image."""
    variant, net, heads, weights = arch.build(name)
    params = arch.count_parameters(net, fused=False)
    expected = PUBLISHED_PARAMS[name]
    assert abs(params - expected) / expected < 0.03, f"{name}: {params} parameters, expected ~{expected:.3g}"
    log(f"  {name}: {params / 1e6:.2f} M parameters ({len(net.convs)} convolutions), "
        f"P{int(math.log2(min(variant.strides)))}-P{int(math.log2(max(variant.strides)))}")
    path = folder / f"{name}.onnx"
    arch.to_onnx(variant, net, heads, weights, 3, path)
    # Calibrate the objectness spread on one image, then write the final graph.
    det = Detector(path, image_size=variant.image_size, providers="cpu")
    x = det.prepare(calib_image).tensor[None]
    out = det.infer(x)[0]
    na = len(variant.anchors[0]) // 2
    sizes = [na * (x.shape[2] // s) * (x.shape[3] // s) for s in variant.strides]
    levels = np.split(out, np.cumsum(sizes)[:-1])
    arch.calibrate_objectness(weights, heads, levels, 3)
    arch.to_onnx(variant, net, heads, weights, 3, path)
    return path, (variant, net, heads, weights)


# -- the database write stand-in -----------------------------------------------------------

class DetectionTable:
    """sqlite3 table of detections, written per image as the server's worker would."""

    def __init__(self, path: Path):
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS detection (media TEXT, model TEXT, category TEXT,"
                        " conf REAL, x REAL, y REAL, w REAL, h REAL)")
        self.rows = 0

    def insert(self, media: str, model: str, rows) -> None:
        with self.db:
            self.db.executemany("INSERT INTO detection VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                [(media, model, c, p, *b) for c, p, b in rows])
        self.rows += len(rows)

    def close(self):
        self.db.close()


# -- (a), (b) ------------------------------------------------------------------------------

CPU_SPENT = [0.0]  # process CPU seconds of the last timed call (all threads)


def bare_inference(det: Detector, tensors: list[np.ndarray]) -> float:
    """(a) seconds for onnxruntime alone over pre-made tensors, batch 1."""
    sess, name, out = det.session, det.info.input_name, det.info.output_name
    c0, t0 = time.process_time(), time.perf_counter()
    for t in tensors:
        sess.run([out], {name: t})
    CPU_SPENT[0] = time.process_time() - c0
    return time.perf_counter() - t0


def end_to_end(det: Detector, paths: list[Path], table: DetectionTable, model: str,
               loader_nice: int | None = 10, batch_size: int | None = None) -> tuple[float, int]:
    """(b) seconds for Saola's pipeline including the sqlite write; returns (s, detections)."""
    n = 0
    c0, t0 = time.process_time(), time.perf_counter()
    for res in detect_paths(det, paths, loader_nice=loader_nice, batch_size=batch_size):
        if not res.ok:
            raise RuntimeError(res.failure)
        table.insert(res.file, model, [(d.category, d.conf, d.bbox) for d in res.detections])
        n += len(res.detections)
    CPU_SPENT[0] = time.process_time() - c0
    return time.perf_counter() - t0, n


# -- (c) reference PyTorch pipeline ----------------------------------------------------------

def torch_reference(model, paths: list[Path], size: int, stride: int, table: DetectionTable,
                    device: str) -> tuple[float, int]:
    """(c) MegaDetector's reference flow in torch, one image at a time."""
    import torch
    import torch.nn.functional as F
    from PIL import ImageOps

    def nms(boxes, scores, classes, iou_thr=0.45, max_det=300):
        order = scores.argsort(descending=True)[:30000]
        b = boxes[order] + classes[order, None].float() * 7680
        keep, idx = [], torch.arange(len(order), device=b.device)
        area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        while idx.numel() and len(keep) < max_det:
            i, rest = idx[0], idx[1:]
            keep.append(order[i])
            xx1 = torch.maximum(b[i, 0], b[rest, 0])
            yy1 = torch.maximum(b[i, 1], b[rest, 1])
            xx2 = torch.minimum(b[i, 2], b[rest, 2])
            yy2 = torch.minimum(b[i, 3], b[rest, 3])
            inter = (xx2 - xx1).clamp(min=0) * (yy2 - yy1).clamp(min=0)
            iou = inter / (area[i] + area[rest] - inter)
            idx = rest[iou <= iou_thr]
        return torch.stack(keep) if keep else torch.zeros(0, dtype=torch.long)

    n = 0
    t0 = time.perf_counter()
    with torch.inference_mode():
        for path in paths:
            img = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
            # uint8 channels-last bilinear: torch's fast path, like cv2.INTER_LINEAR in the reference
            x = torch.from_numpy(np.array(img)).to(device).permute(2, 0, 1)[None]
            h0, w0 = x.shape[2:]
            r = min(size / h0, size / w0)
            nh, nw = round(h0 * r), round(w0 * r)
            x = F.interpolate(x.contiguous(memory_format=torch.channels_last), size=(nh, nw),
                              mode="bilinear", align_corners=False).float()
            dh, dw = (size - nh) % stride, (size - nw) % stride
            top, left = round(dh / 2 - 0.1), round(dw / 2 - 0.1)
            x = F.pad(x, (left, dw - left, top, dh - top), value=114.0) / 255.0
            pred = model(x)[0]
            pred = pred[pred[:, 4] > 0.005]
            conf, cls = (pred[:, 5:] * pred[:, 4:5]).max(1)
            keep = conf > 0.005
            pred, conf, cls = pred[keep], conf[keep], cls[keep]
            xy, wh = pred[:, :2], pred[:, 2:4] / 2
            boxes = torch.cat([xy - wh, xy + wh], 1)
            k = nms(boxes, conf, cls)
            boxes, conf, cls = boxes[k], conf[k], cls[k]
            boxes[:, [0, 2]] = ((boxes[:, [0, 2]] - left) / r).clamp(0, w0)
            boxes[:, [1, 3]] = ((boxes[:, [1, 3]] - top) / r).clamp(0, h0)
            rows = [(str(int(c) + 1), float(p), (b[0] / w0, b[1] / h0, (b[2] - b[0]) / w0, (b[3] - b[1]) / h0))
                    for b, p, c in zip(boxes.cpu().tolist(), conf.cpu().tolist(), cls.cpu().tolist())]
            table.insert(str(path), "torch", rows)
            n += len(rows)
    return time.perf_counter() - t0, n


# -- driver ------------------------------------------------------------------------------

def bench_model(name: str, paths: list[Path], n_torch: int, folder: Path, args, torch_mod) -> dict:
    log(f"\n== {name} ==")
    t = time.perf_counter()
    path, (variant, net, heads, weights) = build_model(name, folder, paths[0])
    log(f"  built ONNX graph ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s")
    det = Detector(path, image_size=variant.image_size, providers=args.provider,
                   intra_op_threads=args.threads)
    prepared = [det.prepare(p) for p in paths]
    tensors = [p.tensor[None] for p in prepared]
    log(f"  input {tensors[0].shape} from {Image.open(paths[0]).size} JPEGs; providers {det.providers}")
    det.infer(tensors[0])  # warm-up (allocations, kernel selection)
    table = DetectionTable(folder / f"{name}.sqlite")
    result = {"name": name, "n": len(paths)}

    tm = None
    if torch_mod is not None:
        torch = torch_mod
        device = "cuda" if args.provider == "cuda" and torch.cuda.is_available() else "cpu"
        tm = arch.to_torch(variant, net, heads, weights, 3).to(device)
        with torch.inference_mode():
            ref = tm(torch.from_numpy(tensors[0]).to(device)).cpu().numpy()
        ours = det.infer(tensors[0])
        err = float(np.abs(ref - ours).max() / (np.abs(ref).max() + 1e-9))
        log(f"  torch vs onnxruntime output, max relative difference {err:.2e}")
        assert err < 1e-3, "the torch and ONNX networks differ"
        torch_reference(tm, paths[:1], variant.image_size, max(variant.strides), table, device)  # warm-up

    # For the small model decoding weighs more: also time full-size decoding (draft off).
    draft = (Detector(path, image_size=variant.image_size, providers=args.provider,
                      intra_op_threads=args.threads, draft_decode=False)
             if variant.image_size <= 640 else None)
    nice, bs = args.loader_nice, args.batch_size
    det.infer(tensors[-1])
    end_to_end(det, paths[:2], table, name, nice, bs)  # warm the loader path and sqlite too
    if draft is not None:
        end_to_end(draft, paths[:2], table, name, nice, bs)
    a_s = b_s = c_s = d_s = 0.0
    dets = cands = 0
    ratios, cpu_ratios = [], []
    for r in range(args.rounds):  # interleave, alternating order, so load drift hits all alike
        if r % 2:
            s, n = end_to_end(det, paths, table, name, nice, bs)
            s_cpu = CPU_SPENT[0]
            a = bare_inference(det, tensors)
            a_cpu = CPU_SPENT[0]
        else:
            a = bare_inference(det, tensors)
            a_cpu = CPU_SPENT[0]
            s, n = end_to_end(det, paths, table, name, nice, bs)
            s_cpu = CPU_SPENT[0]
        log(f"  round {r + 1}: (a) {len(paths) / a:.3f}  (b) {len(paths) / s:.3f} images/s  "
            f"(b)/(a) {a / s:.3f}; CPU s per image (a) {a_cpu / len(paths):.3f} (b) {s_cpu / len(paths):.3f}"
            f"  load {os.getloadavg()[0]:.1f}")
        ratios.append(a / s)
        cpu_ratios.append(a_cpu / s_cpu)
        a_s += a
        b_s += s
        dets += n
        if draft is not None:
            d_s += end_to_end(draft, paths, table, name, nice, bs)[0]
        if tm is not None:
            s, _ = torch_reference(tm, paths[:n_torch], variant.image_size, max(variant.strides),
                                   table, device)
            c_s += s
    raw = det.infer(tensors[0])[0]
    cands = int(((raw[:, 4:5] * raw[:, 5:]).max(1) > 0.005).sum())
    total = args.rounds * len(paths)
    result["a"] = total / a_s
    result["b"] = total / b_s
    result["c"] = args.rounds * n_torch / c_s if tm is not None else None
    result["d"] = total / d_s if draft is not None else None
    result["median_ratio"] = float(np.median(ratios))
    # The throughput ratio on a machine whose cores this job keeps busy, from CPU time: far
    # less sensitive than wall time to other processes sharing the machine.
    result["cpu_ratio"] = float(np.median(cpu_ratios))
    log(f"  candidates above 0.005 before NMS (first image): {cands} of {raw.shape[0]} anchors; "
        f"detections kept per image: {dets / total:.0f}")
    log(f"  (a) bare onnxruntime     {result['a']:8.3f} images/s")
    log(f"  (b) Saola end to end     {result['b']:8.3f} images/s   (b)/(a) = {result['b'] / result['a']:.3f}"
        f"   (median of rounds {result['median_ratio']:.3f}; in CPU time {result['cpu_ratio']:.3f})")
    if result["d"]:
        log(f"  (b') full-size decoding  {result['d']:8.3f} images/s   (b')/(a) = {result['d'] / result['a']:.3f}")
    if result["c"]:
        log(f"  (c) PyTorch reference    {result['c']:8.3f} images/s   (b)/(c) = {result['b'] / result['c']:.3f}"
            f"   ({n_torch} images per round)")
    table.close()
    del det
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="few images, small model only (seconds)")
    ap.add_argument("--provider", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--images", type=int, default=None, help="JPEGs for the large model (default 6)")
    ap.add_argument("--small-images", type=int, default=None, help="JPEGs for the small model (default 40, quick 4)")
    ap.add_argument("--torch-images", type=int, default=None,
                    help="JPEGs for the (slow) PyTorch reference (default 2 for the large model, 8 small)")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved repetitions (default 2, quick 1)")
    ap.add_argument("--size", default="2048x1536", help="JPEG size WxH (4:3 camera frames)")
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                    help="inference threads for both frameworks (default: usable CPUs)")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch reference")
    ap.add_argument("--models", default=None, help="comma-separated subset: yolov5x6,yolov5s")
    ap.add_argument("--batch-size", type=int, default=None,
                    help="images per model call in (b) (default: the detector's, 1 on the CPU)")
    ap.add_argument("--loader-nice", type=int, default=10,
                    help="niceness of the pipeline's loader threads (0: same as inference)")
    ap.add_argument("--no-video", action="store_true", help="skip the video frames benchmark")
    ap.add_argument("--video-only", action="store_true", help="only the video frames benchmark (the small model)")
    ap.add_argument("--video-size", default=None, help="video frame size WxH (default 1920x1080, quick 1280x720)")
    ap.add_argument("--video-seconds", type=int, default=None, help="video length (default 20, quick 4)")
    ap.add_argument("--video-fps", type=int, default=30, help="video frame rate (default 30)")
    ap.add_argument("--video-every-s", type=float, default=1.0, help="seconds between sampled frames (default 1)")
    args = ap.parse_args(argv)
    args.rounds = args.rounds or (1 if args.quick else 2)

    try:
        resolve_providers(args.provider)
    except ProviderUnavailable as exc:
        log(f"cannot benchmark with --provider {args.provider}: {exc}")
        log("install onnxruntime-gpu (same version as onnxruntime) on a machine with an NVIDIA GPU, "
            "or run with --provider cpu")
        return 2

    torch_mod = None
    if not args.no_torch:
        try:
            import torch as torch_mod
            torch_mod.set_num_threads(args.threads)
        except ImportError:
            log("torch is not installed: (c) is skipped (benchmark-only install: "
                ".venv/bin/pip install torch==2.13.0)")

    w, h = (int(v) for v in args.size.lower().split("x"))
    if args.models:
        wanted = args.models.split(",")
        unknown = set(wanted) - set(arch.VARIANTS)
        if unknown:
            ap.error(f"unknown model(s) {', '.join(sorted(unknown))}; choose from {', '.join(arch.VARIANTS)}")
    models = [("yolov5s", args.small_images or 4, args.torch_images or 2)] if args.quick else \
        [("yolov5x6", args.images or 6, args.torch_images or 2),
         ("yolov5s", args.small_images or 40, args.torch_images or 8)]
    if args.models:
        models = [m for m in models if m[0] in wanted] or \
            [(m, args.images or 6, args.torch_images or 2) for m in wanted]
    import onnxruntime
    log(f"{len(os.sched_getaffinity(0))} usable CPUs, {args.threads} inference threads; onnxruntime "
        f"{onnxruntime.__version__} provider {args.provider}; torch "
        f"{torch_mod.__version__ if torch_mod else 'absent'}; load average {os.getloadavg()[0]:.1f}")
    results = []
    with tempfile.TemporaryDirectory(prefix="saola-bench-") as tmp:
        folder = Path(tmp)
        if args.video_only:
            models = []
        jpegs = make_jpegs(folder, max([n for _, n, _ in models] + [1]), (w, h))
        log(f"generated {len(jpegs)} JPEGs {w}x{h}, mean {np.mean([p.stat().st_size for p in jpegs]) / 1e6:.2f} MB")
        for name, n, n_torch in models:
            results.append(bench_model(name, jpegs[:n], min(n, n_torch), folder, args, torch_mod))
        video = None
        if not args.no_video:
            from video_frames import bench_video

            small = folder / "yolov5s.onnx"
            if not small.exists():
                build_model("yolov5s", folder, jpegs[0])
            det = Detector(small, image_size=640, providers=args.provider, intra_op_threads=args.threads)
            table = DetectionTable(folder / "video.sqlite")
            video = bench_video(det, folder, args, table, log, detect_paths, bare_inference)
            table.close()

    print()
    head = results[0] if results else None
    label = "MDv5a-size YOLOv5x6 at 1280" if head and head["name"] == "yolov5x6" else "YOLOv5s at 640"
    for r in results:
        prefix = "" if r is head else f"{r['name']}_"
        print(f"BENCH {prefix}bare_images_per_s {r['a']:.3f} onnxruntime {r['name']} on pre-made tensors")
        print(f"BENCH {prefix}end_to_end_images_per_s {r['b']:.3f} decode+letterbox+inference+NMS+sqlite")
        if r["d"]:
            print(f"BENCH {prefix}end_to_end_full_decode_images_per_s {r['d']:.3f} same without JPEG draft decoding")
        if r["c"]:
            print(f"BENCH {prefix}pytorch_images_per_s {r['c']:.3f} reference PyTorch pipeline")
        if r is not head:
            print(f"BENCH {prefix}end_to_end_vs_bare {r['b'] / r['a']:.3f} (b)/(a), target >= 0.95 "
                  f"(median of rounds {r['median_ratio']:.3f})")
            print(f"BENCH {prefix}end_to_end_vs_bare_cpu {r['cpu_ratio']:.3f} (a)/(b) CPU seconds per image, "
                  "median of rounds")
            if r["c"]:
                print(f"BENCH {prefix}end_to_end_vs_pytorch {r['b'] / r['c']:.3f} (b)/(c), target >= 1.10")
    if results:
        print(f"BENCH end_to_end_vs_bare {head['b'] / head['a']:.3f} (b)/(a) {label}, target >= 0.95 "
              f"(median of rounds {head['median_ratio']:.3f})")
        print(f"BENCH end_to_end_vs_bare_cpu {head['cpu_ratio']:.3f} (a)/(b) CPU seconds per image {label}, "
              "median of rounds")
        if head["c"]:
            print(f"BENCH end_to_end_vs_pytorch {head['b'] / head['c']:.3f} (b)/(c) {label}, target >= 1.10")
        else:
            print("BENCH end_to_end_vs_pytorch nan PyTorch not installed or skipped")
    if video:
        what = (f"yolov5s at 640, {video['size']} H.264 at {args.video_fps} frames/s, one frame every "
                f"{args.video_every_s:g} s ({video['frames']} frames)")
        print(f"BENCH video_frames_per_s {video['v']:.3f} sampled frames/s, ffmpeg decode+letterbox+inference+NMS"
              f"+sqlite, {what}")
        print(f"BENCH video_vs_extract_then_detect {video['v'] / video['vx']:.3f} (v)/(vx): ffmpeg extracting the "
              "same frames as JPEG files, then the photo pipeline on them (MegaDetector's process_video way)")
        print(f"BENCH video_vs_stills {video['v'] / video['vs']:.3f} (v)/(vs): the same frames as ready JPEG stills "
              "through the photo pipeline (extraction not timed; no video decoding at all)")
        print(f"BENCH video_vs_bare {video['v'] / video['va']:.3f} (v)/(va): bare onnxruntime on the frames' tensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
