"""Video part of benchmarks/detector.py: sampled video frames per second through the detector.

An H.264 clip is made with ffmpeg (``testsrc2`` with temporal noise, so every
frame differs and the encoder cannot skip work) and Saola's video path
(:func:`classifiers.video.detect_video`: ffmpeg decodes every frame, keeps one
every ``--video-every-s`` seconds, the frame is letterboxed and run through the
model, NMS) is timed against two baselines on the very same frames:

  (vs) the sampled frames extracted beforehand as JPEG stills (not timed) and
       run through the photo pipeline (``detect_paths``: JPEG decode, letterbox,
       inference, NMS): the frames as if the camera had taken photos;
  (vx) extract-then-detect, as MegaDetector's process_video and AddaxAI work:
       ffmpeg writes the sampled frames as JPEG files, then (vs) runs on them,
       both timed;
  (va) bare onnxruntime on the frames' pre-made tensors.

(v) and (vx) both decode every frame of the inter-coded stream to reach the
sampled ones; (vs) and (va) do not, so with a small model and one frame a
second the decoding, not the model, sets (v)'s pace.

The detections of each path go to the same sqlite stand-in table.
"""
from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from classifiers.megadetector import Detector
from classifiers.video import detect_video


def make_clip(path: Path, size: str, seconds: int, fps: int) -> Path:
    """A camera-trap-like H.264 MP4 (yuv420p, as trail cameras write; about 13 Mbit/s at 1080p, the
    bit rate of trail cameras' 1080p clips: sensor noise is what makes their bit rate)."""
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise SystemExit("ffmpeg is needed for the video benchmark (apt-get install ffmpeg)")
    subprocess.run([exe, "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size={size}:rate={fps}:duration={seconds},noise=alls=8:allf=t",
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", str(fps * 2),
                    "-pix_fmt", "yuv420p", str(path)], check=True, timeout=600)
    return path


def extract_stills(clip: Path, folder: Path, indices: list[int]) -> list[Path]:
    """The frames ``indices`` of ``clip`` as JPEG files (the stills baselines)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    expr = "+".join(f"eq(n\\,{i})" for i in indices)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-vf", f"select='{expr}'",
                    "-fps_mode", "passthrough", "-q:v", "2", str(folder / "frame%06d.jpg")], check=True,
                   timeout=600)
    return sorted(folder.glob("frame*.jpg"))


def bench_video(det: Detector, folder: Path, args, table, log, detect_paths, bare_inference) -> dict:
    """Time (v), (vs) and (va) over ``args.rounds`` interleaved rounds; returns frames per second."""
    size = args.video_size or ("1280x720" if args.quick else "1920x1080")
    seconds = args.video_seconds or (4 if args.quick else 20)
    clip = make_clip(folder / "clip.mp4", size, seconds, args.video_fps)
    log(f"\n== video: {size} H.264 at {args.video_fps} frames/s, {seconds} s "
        f"({clip.stat().st_size / 1e6:.1f} MB, {clip.stat().st_size * 8 / seconds / 1e6:.1f} Mbit/s), "
        f"one frame every {args.video_every_s} s ==")
    warm = detect_video(det, str(clip), every_s=args.video_every_s)  # warm-up, and which frames it samples
    if not warm.ok:
        raise RuntimeError(warm.failure)
    indices = [f.index for f in warm.frames]
    stills = extract_stills(clip, folder / "stills", indices)
    assert len(stills) == len(indices), (len(stills), len(indices))
    tensors = [det.prepare(p).tensor[None] for p in stills]
    v_s = s_s = a_s = x_s = 0.0
    for r in range(args.rounds):
        t0 = time.perf_counter()
        res = detect_video(det, str(clip), every_s=args.video_every_s)
        for f in res.frames:
            table.insert(f"clip/{f.index}", "video", [(d.category, d.conf, d.bbox) for d in f.result.detections])
        v = time.perf_counter() - t0
        t0 = time.perf_counter()
        for out in detect_paths(det, stills):
            table.insert(out.file, "stills", [(d.category, d.conf, d.bbox) for d in out.detections])
        s = time.perf_counter() - t0
        a = bare_inference(det, tensors)
        t0 = time.perf_counter()
        extracted = extract_stills(clip, folder / "extracted", indices)
        for out in detect_paths(det, extracted):
            table.insert(out.file, "extracted", [(d.category, d.conf, d.bbox) for d in out.detections])
        x = time.perf_counter() - t0
        log(f"  round {r + 1}: (v) {len(indices) / v:.3f}  (vs) {len(indices) / s:.3f}  "
            f"(vx) {len(indices) / x:.3f}  (va) {len(indices) / a:.3f} frames/s")
        v_s, s_s, a_s, x_s = v_s + v, s_s + s, a_s + a, x_s + x
    n = args.rounds * len(indices)
    out = {"frames": len(indices), "size": size, "v": n / v_s, "vs": n / s_s, "va": n / a_s, "vx": n / x_s}
    log(f"  (v)  video path        {out['v']:8.3f} frames/s")
    log(f"  (vs) same frames as JPEG stills {out['vs']:8.3f} frames/s   (v)/(vs) = {out['v'] / out['vs']:.3f}")
    log(f"  (vx) extract JPEGs, then detect {out['vx']:8.3f} frames/s   (v)/(vx) = {out['v'] / out['vx']:.3f}")
    log(f"  (va) bare onnxruntime  {out['va']:8.3f} frames/s   (v)/(va) = {out['v'] / out['va']:.3f}")
    return out
