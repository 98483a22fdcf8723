"""Overlapped detection over many image files.

Loader threads decode and letterbox images while the model runs (PIL, numpy
and onnxruntime all release the GIL), and a separate inference thread keeps
the model busy while the caller's thread postprocesses (NMS) and stores
results.  Queues are bounded, so
memory stays flat however many images are processed, and results come back
in input order, with per-image failures instead of exceptions.

    detector = Detector("md_v5a.0.0.onnx")
    for result in detect_paths(detector, paths):
        store(result)           # overlaps with the next inference
"""

from __future__ import annotations

import os
import queue
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Iterator, Sequence

from classifiers.image import ImageSource, describe_source
from classifiers.megadetector import Detector, ImageResult, PreparedImage, failed_result

_DONE = object()


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # respects taskset/cgroup pinning
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _lower_priority(nice: int) -> None:
    """Make the calling loader thread yield to inference threads (Linux: per-thread nice,
    raised by `nice` from the process's level)."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except (AttributeError, OSError):  # not supported here: run at normal priority
        pass


def _prepare(detector: Detector, source: ImageSource, name: str) -> PreparedImage | ImageResult:
    try:
        return detector.prepare(source, name)
    except ValueError as exc:  # ImageDecodeError and images without pixels
        return failed_result(name, exc)


def detect_paths(detector: Detector, sources: Sequence[ImageSource], *,
                 names: Sequence[str] | None = None, batch_size: int | None = None,
                 loader_threads: int | None = None, prefetch: int | None = None,
                 results_buffer: int = 8, loader_nice: int | None = 10) -> Iterator[ImageResult]:
    """Yield one `ImageResult` per source, in order, with loading overlapped with inference.

    `batch_size` images are stacked per model call when their letterboxed shapes
    agree (default `Detector.batch_size`: a fixed batch axis's size, 8 on a GPU,
    else 1); a model with a fixed batch axis always gets batches of that size
    (the last one padded).  `loader_threads` defaults to
    min(4, usable CPUs); `prefetch` (decoded images waiting for the model) defaults to
    twice the batch plus the loader count.  Loader threads run at `loader_nice`
    (None: unchanged) so that when all cores are busy they, not the model's
    threads, wait: a preempted inference thread stalls every core at the
    next synchronisation.  Closing the generator early stops the threads.
    """
    if names is not None and len(names) != len(sources):
        raise ValueError(f"{len(names)} names for {len(sources)} images")
    if batch_size is None:
        batch_size = detector.batch_size
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    loader_threads = loader_threads or min(4, _usable_cpus())
    prefetch = prefetch or 2 * batch_size + loader_threads
    labels = list(names) if names is not None else [describe_source(s) for s in sources]
    out: queue.Queue = queue.Queue(maxsize=max(1, results_buffer))
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def infer_loop() -> None:
        try:
            init = (_lower_priority, (loader_nice,)) if loader_nice else (None, ())
            with ThreadPoolExecutor(loader_threads, thread_name_prefix="saola-loader",
                                    initializer=init[0], initargs=init[1]) as pool:
                pending: deque[Future] = deque()
                it = iter(range(len(sources)))
                for i in it:  # fill the window
                    pending.append(pool.submit(_prepare, detector, sources[i], labels[i]))
                    if len(pending) >= prefetch:
                        break
                while pending and not stop.is_set():
                    chunk = []
                    while pending and len(chunk) < batch_size:
                        chunk.append(pending.popleft().result())
                        nxt = next(it, None)
                        if nxt is not None:
                            pending.append(pool.submit(_prepare, detector, sources[nxt], labels[nxt]))
                    ready = [c for c in chunk if isinstance(c, PreparedImage)]
                    raws = iter(detector.infer_prepared(ready)) if ready else iter(())
                    for c in chunk:
                        # Postprocessing (NMS) happens in the consumer's thread, overlapping
                        # the next inference here.
                        if not put((c, next(raws)) if isinstance(c, PreparedImage) else c):
                            break
                for f in pending:
                    f.cancel()
        except BaseException as exc:  # surface unexpected errors in the consumer's thread
            put(exc)
            return
        put(_DONE)

    worker = threading.Thread(target=infer_loop, name="saola-inference", daemon=True)
    worker.start()
    try:
        while True:
            item = out.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield detector.finish(*item) if isinstance(item, tuple) else item
    finally:
        stop.set()
        worker.join()
