"""Camera-trap videos through the image detector: frames sampled with ffmpeg.

A video is decoded by ``ffmpeg`` (Debian's package; scripts/setup.sh installs it)
into raw RGB frames on a pipe: every ``step``-th decoded frame is kept
(``select`` filter, so frame numbers are the video's own, 0-based), with ``step``
from "one frame every N seconds" or "N frames per second" and the stream's frame
rate. Each kept frame is handed to `Detector.prepare` as a PIL image, so it is
letterboxed and normalised exactly as a photo is (classifiers/megadetector.py),
and the detector's boxes are normalised to the frame.

Frame ``i`` is at ``i / frame_rate`` seconds from the start, as MegaDetector's
video tools count (its batch output names a frame ``<video path>/frame000123.jpg``,
see `frame_file_name`).

A video ffmpeg cannot open gives a failed `VideoResult` whose ``failure`` carries
ffmpeg's own message; a truncated video (the camera lost power while writing)
keeps the frames that decoded and says what went wrong in ``problem`` (ffmpeg's
message, or fewer frames than the header promised). Nothing here touches a
database.
"""
from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Generator

from PIL import Image

if TYPE_CHECKING:  # pragma: no cover
    from classifiers.megadetector import Detector, ImageResult

#: Seconds between sampled frames when nothing else is said.
DEFAULT_EVERY_S = 1.0
#: Longest a probe may take (a header read).
PROBE_TIMEOUT_S = 30
#: At most this many frames are sampled from one video (a mislabelled hour-long file stays bounded).
MAX_FRAMES = 2000
#: The part of ffmpeg's error output kept as the message.
_MESSAGE_CHARS = 400


class VideoDecodeError(ValueError):
    """ffmpeg could not open or decode the video; ``reason`` is its own message."""

    def __init__(self, source: str, reason: str):
        self.source = source
        self.reason = reason
        super().__init__(f"cannot decode video {source}: {reason}")


@dataclass(frozen=True)
class VideoInfo:
    """What ffprobe says of the first video stream."""

    width: int
    height: int
    frame_rate: float
    frames: int | None  # as the header says (None: not stated)
    duration_s: float | None


@dataclass
class FrameResult:
    """The detector's result for one sampled frame."""

    index: int  # the video's frame number, 0-based
    time_s: float  # seconds from the start of the video
    result: "ImageResult"

    @property
    def max_conf(self) -> float:
        return self.result.max_conf if self.result.ok else 0.0


@dataclass
class VideoResult:
    """Detections of a video's sampled frames, or why it could not be decoded (``failure``).

    ``problem`` is set when some frames decoded but the video is damaged (truncated);
    ``best_image`` is the decoded frame of the best detection (the first frame when
    nothing was found): the poster frame.
    """

    file: str
    frames: list[FrameResult] = field(default_factory=list)
    frame_rate: float | None = None
    step: int | None = None
    width: int | None = None
    height: int | None = None
    failure: str | None = None
    problem: str | None = None
    best_image: Image.Image | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def every_s(self) -> float | None:
        """Seconds between sampled frames."""
        return round(self.step / self.frame_rate, 6) if self.step and self.frame_rate else None

    def best(self) -> FrameResult | None:
        """The frame with the most confident detection (earliest on a tie), None without any."""
        best = None
        for f in self.frames:
            if f.max_conf > 0 and (best is None or f.max_conf > best.max_conf):
                best = f
        return best

    def max_conf_by_category(self) -> dict[str, float]:
        """Category id -> the highest confidence of that category in any frame."""
        out: dict[str, float] = {}
        for f in self.frames:
            for d in f.result.detections or ():
                out[d.category] = max(out.get(d.category, 0.0), float(d.conf))
        return out


def frame_file_name(video_path: str, index: int) -> str:
    """MegaDetector's name for a video frame in batch output: ``<video path>/frame000123.jpg``."""
    return f"{video_path}/frame{index:06d}.jpg"


def parse_frame_file_name(file: str) -> tuple[str, int] | None:
    """(video path, frame index) of a name made by `frame_file_name`; None for other names."""
    head, _, tail = file.replace("\\", "/").rpartition("/")
    if not head or not tail.lower().startswith("frame") or not tail.lower().endswith(".jpg"):
        return None
    digits = tail[5:-4]
    if not digits.isdigit():
        return None
    return head, int(digits)


def _lower_priority(pid: int, nice: int) -> None:
    """Let the decoder wait when every core is busy, not the model (as the photo loader threads do,
    classifiers/pipeline.py): a preempted inference thread stalls all the others at the next
    synchronisation. ffmpeg's decoding threads start after it opened the file, so they inherit this."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, min(19, os.getpriority(os.PRIO_PROCESS, pid) + nice))
    except (AttributeError, OSError):  # not supported here, or ffmpeg already gone
        pass


def _exe(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise VideoDecodeError("(any video)", f"{name} is not installed (apt-get install ffmpeg)")
    return exe


def _rate(text: str | None) -> float | None:
    try:
        r = Fraction(text or "")
    except (ValueError, ZeroDivisionError):
        return None
    return float(r) if r > 0 else None


#: ffmpeg prefixes messages with the component and its memory address ("[h264 @ 0x55f6...] "): noise here.
_ADDRESS = re.compile(r"\[([^\]@]+?) @ 0x[0-9a-fA-F]+\] ")


def _message(stderr: bytes, path: str | None = None, label: str | None = None) -> str:
    """ffmpeg's error output as one line: its last distinct lines, the most telling (the file's
    path, a store key, said as ``label``)."""
    text = stderr.decode("utf-8", "replace")
    if path and label:
        text = text.replace(path, label)
    lines = [_ADDRESS.sub(r"[\1] ", ln).strip() for ln in text.splitlines() if ln.strip()]
    seen: list[str] = []
    for ln in lines:
        if ln not in seen:
            seen.append(ln)
    text = "; ".join(seen[-4:])
    return text[-_MESSAGE_CHARS:] if text else ""


def probe(path: str, label: str | None = None) -> VideoInfo:
    """Size, frame rate, frame count and duration of the first video stream (ffprobe).

    Raises `VideoDecodeError` with ffprobe's message when the file is not a readable video.
    """
    try:
        done = subprocess.run([_exe("ffprobe"), "-v", "error", "-select_streams", "v:0", "-show_entries",
                               "stream=width,height,avg_frame_rate,r_frame_rate,nb_frames,duration",
                               "-of", "json", path], capture_output=True, timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise VideoDecodeError(path, f"ffprobe took longer than {PROBE_TIMEOUT_S} s") from None
    if done.returncode != 0:
        raise VideoDecodeError(path, _message(done.stderr, path, label) or f"ffprobe exited with {done.returncode}")
    try:
        streams = json.loads(done.stdout or b"{}").get("streams") or []
    except ValueError:
        streams = []
    if not streams:
        raise VideoDecodeError(path, _message(done.stderr, path, label) or "no video stream")
    st = streams[0]
    w, h = int(st.get("width") or 0), int(st.get("height") or 0)
    rate = _rate(st.get("avg_frame_rate")) or _rate(st.get("r_frame_rate"))
    if w <= 0 or h <= 0 or not rate:
        raise VideoDecodeError(path, f"the video stream states no size or frame rate ({w}x{h}, {rate})")
    try:
        frames = int(st["nb_frames"]) if st.get("nb_frames") not in (None, "N/A") else None
    except ValueError:
        frames = None
    try:
        duration = float(st["duration"]) if st.get("duration") not in (None, "N/A") else None
    except ValueError:
        duration = None
    return VideoInfo(w, h, rate, frames, duration)


def frame_step(frame_rate: float, every_s: float | None = None, per_s: float | None = None) -> int:
    """Keep one frame in ``step``: every ``every_s`` seconds, or ``per_s`` frames a second
    (at most every frame). Default: every :data:`DEFAULT_EVERY_S` seconds."""
    if every_s is not None and per_s is not None:
        raise ValueError("say either every_s or per_s, not both")
    if per_s is not None:
        if not per_s > 0:
            raise ValueError(f"frames per second must be > 0, got {per_s}")
        every_s = 1.0 / per_s
    every_s = DEFAULT_EVERY_S if every_s is None else every_s
    if not every_s > 0:
        raise ValueError(f"seconds between frames must be > 0, got {every_s}")
    return max(1, round(every_s * frame_rate))


class FrameReader:
    """Iterate over a video's sampled frames as ``(index, time_s, PIL image)``.

    After the iteration, ``problem`` holds ffmpeg's message when it reported
    errors (or the frames stop short of what the header promised), and
    ``decoded`` the number of frames delivered. ``close()`` stops ffmpeg early.
    """

    def __init__(self, path: str, info: VideoInfo, step: int, max_frames: int = MAX_FRAMES,
                 label: str | None = None, nice: int | None = None):
        self.path, self.info, self.step, self.max_frames = path, info, step, max_frames
        self.label, self.nice = label, nice
        self.problem: str | None = None
        self.decoded = 0
        self._proc: subprocess.Popen | None = None

    def __iter__(self) -> Generator[tuple[int, float, Image.Image], None, None]:
        w, h, size = self.info.width, self.info.height, self.info.width * self.info.height * 3
        # -noautorotate: frames keep the stream's coded size, which the pipe reader relies on.
        cmd = [_exe("ffmpeg"), "-nostdin", "-v", "error", "-noautorotate", "-i", self.path, "-map", "0:v:0",
               "-vf", f"select='not(mod(n\\,{self.step}))'", "-fps_mode", "passthrough",
               "-frames:v", str(self.max_frames), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
        with tempfile.TemporaryFile() as err:  # a file, not a pipe: ffmpeg never blocks on its messages
            self._proc = proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, bufsize=size)
            assert proc.stdout is not None
            if self.nice:
                _lower_priority(proc.pid, self.nice)
            try:
                while True:
                    buf = proc.stdout.read(size)
                    if len(buf) < size:
                        break
                    index = self.decoded * self.step
                    self.decoded += 1
                    yield index, index / self.info.frame_rate, Image.frombuffer("RGB", (w, h), buf, "raw", "RGB", 0, 1)
            finally:
                proc.stdout.close()
                rc = proc.wait()
                err.seek(0)
                message = _message(err.read(), self.path, self.label)
            stopped_early = self.decoded >= self.max_frames
            if message or (rc != 0 and not stopped_early):
                self.problem = message or f"ffmpeg exited with {rc}"
            elif (self.info.frames and not stopped_early
                  and self.decoded < -(-self.info.frames // self.step)):
                self.problem = (f"decoded {self.decoded} sampled frames, the header promises "
                                f"{-(-self.info.frames // self.step)} ({self.info.frames} frames)")

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()


def first_frame(path: str, label: str | None = None) -> Image.Image:
    """The video's first frame (a poster when no detector has chosen a better one).

    Raises `VideoDecodeError` with ffmpeg's message when there is none."""
    info = probe(path, label)
    reader = FrameReader(path, info, 1, 1, label)
    frames = iter(reader)
    try:
        for _index, _time, img in frames:
            return img
    finally:
        frames.close()  # ffmpeg is waited for now, not when the generator is collected
    raise VideoDecodeError(label or path, reader.problem or "no frame could be decoded")


_DONE = object()


def detect_video(detector: "Detector", path: str, *, name: str | None = None, every_s: float | None = None,
                 per_s: float | None = None, batch_size: int | None = None, max_frames: int = MAX_FRAMES,
                 prefetch: int = 8, decoder_nice: int | None = None) -> VideoResult:
    """Run ``detector`` over the sampled frames of the video at ``path`` (see module docstring).

    Decoding (ffmpeg, its own process) and letterboxing (a reader thread) overlap the
    model. ``decoder_nice`` lowers both below the model's threads, as the photo loaders
    are; off by default: measured on a busy 2-core machine, a niced ffmpeg lost more to
    the other processes than the model gained (7.0 s against 5.5 s for a 4 s 720p clip,
    while extracting the frames first took 5.3 s). Never raises for a bad video: the
    result's ``failure`` says why.
    """
    from classifiers.megadetector import PreparedImage

    label = name or path
    batch_size = batch_size or detector.batch_size  # a fixed batch axis's size, 8 on a GPU, else 1
    try:
        info = probe(path, label)
        step = frame_step(info.frame_rate, every_s, per_s)
    except VideoDecodeError as exc:
        return VideoResult(label, failure=f"cannot decode video: {exc.reason}")
    res = VideoResult(label, frame_rate=info.frame_rate, step=step, width=info.width, height=info.height)
    reader = FrameReader(path, info, step, max_frames, label, decoder_nice)
    q: queue.Queue = queue.Queue(maxsize=max(1, prefetch))
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        if decoder_nice:
            from classifiers.pipeline import _lower_priority as lower_this_thread

            lower_this_thread(decoder_nice)  # letterboxing waits for the model too, as photo loaders do
        try:
            for index, time_s, img in reader:
                prepared = detector.prepare(img, f"frame{index:06d}")
                if not put((index, time_s, img, prepared)):
                    reader.close()
                    break
        except BaseException as exc:  # surfaced in the caller's thread
            put(exc)
            return
        put(_DONE)

    thread = threading.Thread(target=read, name="saola-video-reader", daemon=True)
    thread.start()
    best_conf, first_image = 0.0, None
    try:
        done = False
        while not done:
            chunk: list = []
            while len(chunk) < batch_size:
                item = q.get()
                if item is _DONE:
                    done = True
                    break
                if isinstance(item, BaseException):
                    raise item
                chunk.append(item)
            if not chunk:
                break
            items: list[PreparedImage] = [c[3] for c in chunk]
            for (index, time_s, img, prepared), raw in zip(chunk, detector.infer_prepared(items)):
                fr = FrameResult(index, round(time_s, 6), detector.finish(prepared, raw))
                res.frames.append(fr)
                if first_image is None:
                    first_image = img
                if fr.max_conf > best_conf:
                    best_conf, res.best_image = fr.max_conf, img
    finally:
        stop.set()
        reader.close()
        thread.join()
    if res.best_image is None:
        res.best_image = first_image
    if not res.frames:
        res.failure = f"cannot decode video: {reader.problem or 'no frames decoded'}"
    else:
        res.problem = reader.problem
    return res
