"""Sessions: one training run per open page, trained by a background task, bounded in number, time and memory.

A ``Session`` owns an ``engine.Run`` and plays it: while playing, a
background asyncio task trains ``speed`` epochs per frame in a worker
thread (JAX releases the GIL, the event loop stays free), publishes a frame
snapshot and sleeps to hold ``FRAME_RATE``. Streams (``server``) wait for a
newer frame; a slow reader skips frames, never queues them.

Bounds: at most ``MAX_SESSIONS`` sessions (the least recently seen one
without a listener is evicted for a new one); a session nobody has touched
or watched for ``IDLE_SECONDS`` is closed, and a playing one nobody watches
pauses after ``UNWATCHED_SECONDS``; a run stops at ``MAX_TOTAL_EPOCHS``.
Nothing is written to disk.
"""

import asyncio
import base64
import functools
import secrets
import time

import numpy as np

from fnnet.playground import engine
from fnnet.playground.config import Config

MAX_SESSIONS = 8
IDLE_SECONDS = 600.0
UNWATCHED_SECONDS = 30.0
FRAME_RATE = 20.0
SPEEDS = (1, 2, 3, 5, 10, 20, 50, 100)  # epochs per frame
DEFAULT_SPEED = 3
MAX_TOTAL_EPOCHS = 200_000


class SessionError(Exception):
    """A request the sessions cannot serve: ``status`` is the HTTP status, the message says why."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _b64(array) -> str:
    return base64.b64encode(array.tobytes()).decode("ascii")


@functools.lru_cache(maxsize=1)
def _feature_images() -> str:
    return _b64(engine.feature_images())


def needs_reset(old: Config, new: Config) -> bool:
    """Whether changing ``old`` to ``new`` restarts the run (as in the Playground: all but the learning rate
    and the display flags do; comparing learning rates, the learning rate does too)."""
    display = {"showTestData": False, "discretize": False, "learningRate": 0.03}
    if old.compare == "learningRate" or new.compare == "learningRate":
        display.pop("learningRate")
    return old.replace(**display) != new.replace(**display)


class Session:
    """One page's run, its play state and its latest frame."""

    def __init__(self, config: Config):
        self.id = secrets.token_urlsafe(12)
        self.config = config
        self.run: engine.Run | None = None
        self.generation = 0  # counts resets: a stream seeing a new one restarts its chart
        self.playing = False
        self.speed = DEFAULT_SPEED
        self.focus = 0
        self.status = "compiling"
        self.lock = asyncio.Lock()
        self.changed = asyncio.Condition()
        self.version = 0
        self.frame = None
        self.listeners = 0
        self.last_seen = time.monotonic()
        self.task = None
        self.wake = asyncio.Event()  # set to end the play loop's pause between frames at once
        self.closed = False

    def touch(self):
        self.last_seen = time.monotonic()

    # ---- running ---------------------------------------------------------------------------------------------
    async def start(self):
        """Build the run (compiling its program the first time its architecture is seen) and publish epoch 0."""
        async with self.lock:
            await self._reset_locked(self.config)

    async def _reset_locked(self, config):
        self.playing = False
        self.config = config
        self.status = "compiling"
        await self._notify()
        run = await asyncio.to_thread(engine.Run, config)
        await asyncio.to_thread(run.train, 0)
        self.run, self.generation, self.focus = run, self.generation + 1, 0
        self.status = "ready"
        await self.publish()

    async def reset(self, config=None):
        await self._stop_task()
        async with self.lock:
            await self._reset_locked(config or self.config)

    async def apply(self, config: Config) -> bool:
        """Take a new configuration; returns whether the run restarted."""
        if needs_reset(self.config, config):
            await self.reset(config)
            return True
        async with self.lock:
            if config.learningRate != self.config.learningRate:
                assert self.run is not None  # start() made it
                self.run.set_learning_rate(config.learningRate)
            self.config = config
            await self.publish()
        return False

    async def step(self):
        """One epoch (the Playground's step button); pauses first."""
        await self.pause()
        async with self.lock:
            await self._train_locked(1)

    async def _train_locked(self, n):
        assert self.run is not None  # start() made it
        left = MAX_TOTAL_EPOCHS - self.run.epoch
        if left <= 0:
            self.playing = False
            self.status = f"stopped: the epoch limit ({MAX_TOTAL_EPOCHS:,}) is reached"
            await self.publish()
            return
        rows = await asyncio.to_thread(self.run.train, min(n, left))
        if rows.size and not np.isfinite(rows[:, -1, :3]).any():  # as fit does: a non-finite loss stops training
            self.playing = False
            self.status = "stopped: the loss is not finite; lower the learning rate and reset"
        await self.publish()

    async def play(self):
        if self.playing:
            return
        self.playing = True
        self.wake.clear()
        self.task = asyncio.create_task(self._loop())
        await self._notify()

    async def pause(self):
        await self._stop_task()
        await self._notify()

    async def _stop_task(self):
        """Stop the play loop and wait for its current chunk: a worker thread is never left training."""
        self.playing = False
        self.wake.set()
        task, self.task = self.task, None
        if task is not None and task is not asyncio.current_task():
            await task

    async def _loop(self):
        interval = 1.0 / FRAME_RATE
        while self.playing and not self.closed:
            start = time.perf_counter()
            async with self.lock:
                if not self.playing:
                    break
                await self._train_locked(self.speed)
            if self.listeners == 0 and time.monotonic() - self.last_seen > UNWATCHED_SECONDS:
                self.playing = False
                await self._notify()
                break
            try:
                await asyncio.wait_for(self.wake.wait(), max(0.002, interval - (time.perf_counter() - start)))
            except TimeoutError:
                pass

    # ---- frames ----------------------------------------------------------------------------------------------
    async def _notify(self):
        async with self.changed:
            self.version += 1
            self.changed.notify_all()

    async def publish(self):
        """Snapshot the run for the streams: losses, weights, the heat maps as base64 bytes."""
        run = self.run
        assert run is not None  # start() made it
        focus = min(self.focus, run.k - 1)
        self.frame = {
            "generation": self.generation,
            "epoch": run.epoch,
            "losses": run.latest_losses().round(6).tolist(),
            "weights": run.weights(focus),
            "focus": focus,
            "nodes": _b64(run.node_images(focus)),
            "outputs": _b64(run.output_images()),
        }
        await self._notify()

    def state(self) -> dict:
        """What a stream sends besides the frame: play state, speed, status."""
        return {"playing": self.playing, "speed": self.speed, "status": self.status, "config": self.config.to_query()}

    def meta(self) -> dict:
        """The run's static description: the data points, the layer sizes, the input thumbnails."""
        run, config = self.run, self.config
        assert run is not None and run.initial_history is not None  # start() made them
        data = run.data
        points = [
            [round(float(p[0]), 3), round(float(p[1]), 3), round(float(t), 3)]
            for p, t in zip(data["points"], data["targets"])
        ]
        return {
            "points": points,
            "numTrain": data["num_train"],
            "features": list(config.features),
            "layers": [len(config.features), *config.networkShape, 1],
            "grid": engine.GRID,
            "thumb": engine.GRID // engine.THUMB_STRIDE,
            "featureImages": _feature_images(),
            "variants": [dict(v) for v in run.variants],
            "compare": config.compare,
            "classification": config.classification,
            "generation": self.generation,
            "initial": run.initial_history.round(6).tolist(),
        }

    async def close(self):
        self.closed = True
        await self._stop_task()
        await self._notify()


class Sessions:
    """The bounded set of sessions, by id."""

    def __init__(self, max_sessions=MAX_SESSIONS, idle_seconds=IDLE_SECONDS):
        self.max_sessions = max_sessions
        self.idle_seconds = idle_seconds
        self.by_id = {}

    async def create(self, config: Config) -> Session:
        await self.reap()
        if len(self.by_id) >= self.max_sessions:
            unwatched = [s for s in self.by_id.values() if s.listeners == 0]
            if not unwatched:
                raise SessionError(503, f"too many sessions ({self.max_sessions}), all in use; close a page")
            await self.remove(min(unwatched, key=lambda s: s.last_seen).id)
        session = Session(config)
        self.by_id[session.id] = session
        try:
            await session.start()
        except BaseException:
            self.by_id.pop(session.id, None)
            raise
        return session

    def get(self, session_id) -> Session:
        session = self.by_id.get(session_id) if isinstance(session_id, str) else None
        if session is None:
            raise SessionError(404, "no such session (it may have been closed after being idle); reload the page")
        session.touch()
        return session

    async def remove(self, session_id):
        session = self.by_id.pop(session_id, None)
        if session is not None:
            await session.close()

    async def reap(self):
        """Close the sessions idle for longer than ``idle_seconds``."""
        now = time.monotonic()
        for session in list(self.by_id.values()):
            if session.listeners == 0 and now - session.last_seen > self.idle_seconds:
                await self.remove(session.id)

    async def close_all(self):
        for session_id in list(self.by_id):
            await self.remove(session_id)
