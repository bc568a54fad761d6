"""The Playground's Starlette app: the page, a small JSON API and a server-sent event stream.

Routes (every body is JSON, every error a 4xx with ``{"error": message}``,
never a stack trace):

- ``GET /``: the page; ``/static/...`` its scripts and style sheet; ``GET /api/previews``: the data sets'
  thumbnails' points; ``GET /api/options``: the value lists of the controls.
- ``POST /api/sessions`` ``{"config": "<query>"}``: start a session; returns ``{"id", "config", "meta"}``.
- ``PUT /api/sessions/{id}/config`` ``{"config": "<query>"}``: change the configuration
  (a restart, except for the learning rate and display flags, as in the Playground).
- ``POST /api/sessions/{id}/control`` ``{"action": "play" | "pause" | "step" | "reset", "speed": n, "focus": k}``.
- ``GET /api/sessions/{id}/events[?limit=n]``: ``text/event-stream`` of ``frame`` events.
- ``GET /api/sessions/{id}/export/script``, ``.../export/history.csv``, ``.../export/model[?variant=k]``:
  the reproducing script, the loss history, the trained model (``fn.save_model``).
- ``DELETE /api/sessions/{id}``.

Requests that change anything must be ``application/json`` (so a foreign web
page cannot send them without a CORS preflight, which is never granted) and
``Host`` must be a loopback name unless the app is built for other hosts.
"""

import asyncio
import json
import logging
import os
import pathlib
import tempfile
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

import fnnet as fn
from fnnet.playground import engine, export, sessions as sessions_lib
from fnnet.playground.config import (
    DATASETS,
    FEATURE_NAMES,
    LEARNING_RATES,
    MAX_LAYERS,
    MAX_NEURONS,
    MAX_VARIANTS,
    NUM_SAMPLES,
    OPTIMIZERS,
    REG_DATASETS,
    REGULARIZATION_RATES,
    Config,
    ConfigError,
    format_rate,
)

STATIC = pathlib.Path(__file__).parent / "static"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
MAX_BODY = 16 * 1024
MAX_HISTORY_POINTS = 2000  # a stream's first chart, thinned to at most this many epochs
KEEPALIVE_SECONDS = 15.0
log = logging.getLogger("fnnet.playground")


def _error(status, message):
    return JSONResponse({"error": message}, status_code=status)


async def _body(request) -> dict:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise HTTPException(415, "send the request body as application/json")
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > MAX_BODY:
        raise HTTPException(413, f"request body over {MAX_BODY} bytes")
    raw = b""
    async for chunk in request.stream():  # read at most MAX_BODY bytes, whatever the header said
        raw += chunk
        if len(raw) > MAX_BODY:
            raise HTTPException(413, f"request body over {MAX_BODY} bytes")
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(400, "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "the request body must be a JSON object")
    return body


def _config(body) -> Config:
    query = body.get("config", "")
    if not isinstance(query, str):
        raise ConfigError("config: expected the configuration as a query string")
    return Config.from_query(query)


def _integer(value, name, low, high):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise HTTPException(400, f"{name}: got {value!r}; expected an integer in [{low}, {high}]")
    return value


def create_app(*, max_sessions=sessions_lib.MAX_SESSIONS, allowed_hosts=LOOPBACK_HOSTS, warm_up=True) -> Starlette:
    """The Playground's ASGI app; ``allowed_hosts`` are the ``Host`` names it answers.

    With ``warm_up``, the default network's program compiles in the background at start-up, so the first page
    opens at once.
    """
    sessions = sessions_lib.Sessions(max_sessions)

    async def index(request):
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def create(request):
        session = await sessions.create(_config(await _body(request)))
        return JSONResponse(
            {"id": session.id, "config": session.config.to_query(), "meta": session.meta()}, status_code=201
        )

    async def put_config(request):
        session = sessions.get(request.path_params["id"])
        restarted = await session.apply(_config(await _body(request)))
        return JSONResponse({"config": session.config.to_query(), "restarted": restarted})

    async def control(request):
        session = sessions.get(request.path_params["id"])
        body = await _body(request)
        unknown = sorted(set(body) - {"action", "speed", "focus"})
        if unknown:
            raise HTTPException(400, f"unknown fields {unknown}; valid: action, speed, focus")
        if "speed" in body:
            if body["speed"] not in sessions_lib.SPEEDS or isinstance(body["speed"], bool):
                raise HTTPException(400, f"speed: got {body['speed']!r}; expected one of {sessions_lib.SPEEDS}")
            session.speed = body["speed"]
        if "focus" in body:
            session.focus = _integer(body["focus"], "focus", 0, session.run.k - 1 if session.run else 0)
        action = body.get("action")
        actions = {"play": session.play, "pause": session.pause, "step": session.step, "reset": session.reset}
        if action is not None:
            if action not in actions:
                raise HTTPException(400, f"action: got {action!r}; expected one of {', '.join(actions)}")
            await actions[action]()
        elif session.run is not None:
            async with session.lock:
                await session.publish()
        return JSONResponse(session.state())

    previews = {}

    async def dataset_previews(request):
        if not previews:
            previews.update(await asyncio.to_thread(_previews))
        return JSONResponse(previews)

    async def options(request):
        return JSONResponse(
            {
                "learningRates": [format_rate(r) for r in LEARNING_RATES],
                "regularizationRates": [format_rate(r) for r in REGULARIZATION_RATES],
                "optimizers": list(OPTIMIZERS),
                "speeds": list(sessions_lib.SPEEDS),
                "maxLayers": MAX_LAYERS,
                "maxNeurons": MAX_NEURONS,
                "maxVariants": MAX_VARIANTS,
                "features": list(FEATURE_NAMES),
            }
        )

    async def delete(request):
        await sessions.remove(request.path_params["id"])
        return Response(status_code=204)

    async def events(request):
        session = sessions.get(request.path_params["id"])
        limit = request.query_params.get("limit", "0")
        if not limit.isdigit() or int(limit) > 1_000_000:
            raise HTTPException(400, f"limit: got {limit!r}; expected an integer in [0, 1000000]")
        return StreamingResponse(
            _stream(session, int(limit)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def export_script(request):
        session = sessions.get(request.path_params["id"])
        async with session.lock:
            text = export.script(session.run)
        return PlainTextResponse(text, media_type="text/x-python", headers=_attachment("playground_run.py"))

    async def export_csv(request):
        session = sessions.get(request.path_params["id"])
        async with session.lock:
            text = export.history_csv(session.run)
        return PlainTextResponse(text, media_type="text/csv", headers=_attachment("playground_history.csv"))

    async def export_model(request):
        session = sessions.get(request.path_params["id"])
        variant = request.query_params.get("variant", "0")
        assert session.run is not None  # sessions.create starts it before the page learns the id
        if not variant.isdigit() or int(variant) >= session.run.k:
            raise HTTPException(400, f"variant: got {variant!r}; expected an integer in [0, {session.run.k - 1}]")
        async with session.lock:
            model, params = session.run.model(), session.run.params(int(variant))
        data = await asyncio.to_thread(_model_bytes, model, params)
        return Response(data, media_type="application/octet-stream", headers=_attachment("playground.safetensors"))

    async def http_error(request, exc):
        return _error(exc.status_code, exc.detail)

    async def config_error(request, exc):
        return _error(400, str(exc))

    async def session_error(request, exc):
        return _error(exc.status, str(exc))

    async def server_error(request, exc):
        log.exception("playground request failed")
        return _error(500, "the server failed on this request; see its log")

    @asynccontextmanager
    async def lifespan(app):
        reaper = asyncio.create_task(_reap(sessions))
        warming = asyncio.create_task(asyncio.to_thread(_warm_up)) if warm_up else None
        try:
            yield
        finally:
            reaper.cancel()
            if warming is not None:
                await warming
            await sessions.close_all()

    routes = [
        Route("/", index),
        Route("/api/previews", dataset_previews),
        Route("/api/options", options),
        Route("/api/sessions", create, methods=["POST"]),
        Route("/api/sessions/{id}", delete, methods=["DELETE"]),
        Route("/api/sessions/{id}/config", put_config, methods=["PUT"]),
        Route("/api/sessions/{id}/control", control, methods=["POST"]),
        Route("/api/sessions/{id}/events", events),
        Route("/api/sessions/{id}/export/script", export_script),
        Route("/api/sessions/{id}/export/history.csv", export_csv),
        Route("/api/sessions/{id}/export/model", export_model),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    handlers = {
        HTTPException: http_error,
        ConfigError: config_error,
        sessions_lib.SessionError: session_error,
        Exception: server_error,
    }
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))]
    app = Starlette(routes=routes, exception_handlers=handlers, middleware=middleware, lifespan=lifespan)
    app.state.sessions = sessions
    return app


def _attachment(name):
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def _model_bytes(model, params) -> bytes:
    """``fn.save_model``'s file as bytes, written to a temporary folder (in memory where /dev/shm exists)."""
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="fnnet-playground-", dir=shm) as folder:
        path = os.path.join(folder, "playground.safetensors")
        fn.save_model(path, model, params)
        with open(path, "rb") as file:
            return file.read()


def _previews() -> dict:
    """200 noiseless points of each data set, ``{playground name: [[x1, x2, target], ...]}``, for the thumbnails."""
    import jax

    out = {}
    for name, fnnet_name in (*DATASETS.items(), *REG_DATASETS.items()):
        n = NUM_SAMPLES["classification" if name in DATASETS else "regression"]  # the sessions' size: one compile
        x, y = fn.datasets.playground.make(fnnet_name, n, key=jax.random.key(0))
        x, y = x[:200], (2 * y[:200] - 1 if name in DATASETS else y[:200])
        out[name] = [[round(float(a), 2), round(float(b), 2), round(float(t), 2)] for (a, b), t in zip(x, y)]
    return out


def _warm_up():
    engine.Run(Config()).train(0)


async def _reap(sessions):
    while True:
        await asyncio.sleep(30)
        await sessions.reap()


def _history_payload(run, start):
    """The chart's rows since epoch ``start`` (``{"epochs", "train", "test"}``, thinned to MAX_HISTORY_POINTS)
    and the epoch they reach."""
    history = run.history
    end = history.shape[1]
    stride = max(1, -(-(end - start) // MAX_HISTORY_POINTS))
    index = list(range(start, end, stride))
    if index and index[-1] != end - 1:
        index.append(end - 1)
    rows = history[:, index]
    return {
        "epochs": [i + 1 for i in index],
        "train": rows[:, :, 1].round(6).tolist(),
        "test": rows[:, :, 2].round(6).tolist(),
    }, end


async def _stream(session, limit):
    """Server-sent ``frame`` events: the latest frame whenever there is a newer one, plus the chart's new rows."""
    session.listeners += 1
    seen, sent_epoch, generation, count = -1, 0, None, 0
    try:
        while not session.closed:
            async with session.changed:
                try:
                    changed = lambda: session.version != seen  # noqa: B023, E731 (awaited in this iteration)
                    await asyncio.wait_for(session.changed.wait_for(changed), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                seen = session.version
            session.touch()
            frame, run = session.frame, session.run
            payload = {"state": session.state()}
            if frame is not None and run is not None:
                payload.update(frame)
                if generation != session.generation:
                    generation, sent_epoch = session.generation, 0
                    payload["meta"] = session.meta()
                payload["history"], sent_epoch = _history_payload(run, sent_epoch)
            yield f"event: frame\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n"
            count += 1
            if limit and count >= limit:
                break
    finally:
        session.listeners -= 1
