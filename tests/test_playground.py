"""The Playground: its configuration's bounds, the engine's determinism and exactness, the HTTP API
(4xx on bad input, the event stream, play/step/reset) and the exports (the script reproduces the run)."""

import json
import os
import subprocess
import sys
import warnings

import jax
import numpy as np
import pytest

import fnnet as fn
from fnnet.playground import engine, export
from fnnet.playground.__main__ import parse_args
from fnnet.playground.config import Config, ConfigError

pytest.importorskip("starlette")
pytest.importorskip("httpx")
with warnings.catch_warnings():  # Starlette 1.x suggests httpx2 for its TestClient; httpx works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from fnnet.playground.server import create_app  # noqa: E402

JSON = {"Content-Type": "application/json"}
# two variants of a small network with a partial last batch, L2 and momentum (one compile for two tests)
EXPORTED = Config(
    networkShape=(3,),
    batchSize=30,
    regularization="L2",
    regularizationRate=0.01,
    optimizer="momentum",
    features=("x", "y", "xSquared"),
    compare="seed",
    compareValues=(1, 2),
)


# ---- configuration -------------------------------------------------------------------------------------------------
def test_defaults_are_the_playgrounds_and_round_trip_through_the_query_string():
    config = Config()
    assert (
        config.dataset,
        config.networkShape,
        config.activation,
        config.learningRate,
        config.batchSize,
        config.percTrainData,
        config.features,
    ) == ("circle", (4, 2), "tanh", 0.03, 10, 50, ("x", "y"))
    assert config.num_train == 250
    other = Config.from_query(
        "dataset=spiral&networkShape=8,8,1&xTimesY=true&sinX=true&learningRate=0.00001"
        "&regularization=L1&regularizationRate=3&optimizer=adam&seed=7&compare=seed"
        "&compareValues=1,2,3"
    )
    assert Config.from_query(other.to_query()) == other
    assert Config.from_query(Config().to_query()) == Config()
    assert other.features == ("x", "y", "xTimesY", "sinX")
    assert [v["seed"] for v in other.variants] == [1, 2, 3]
    assert Config.from_query("networkShape=").networkShape == ()


def test_a_tensorflow_playground_link_works():
    link = (
        "activation=tanh&batchSize=10&dataset=circle&regDataset=reg-plane&learningRate=0.03&"
        "regularizationRate=0&noise=0&networkShape=4,2&seed=0.47815&showTestData=false&discretize=false&"
        "percTrainData=50&x=true&y=true&xTimesY=false&xSquared=false&ySquared=false&cosX=false&sinX=false&"
        "cosY=false&sinY=false&collectStats=false&problem=classification&initZero=false&hideText=false"
    )
    assert Config.from_query(link) == Config(seed=47815)
    with pytest.raises(ConfigError, match="cosX"):
        Config.from_query("cosX=true")


@pytest.mark.parametrize(
    "query, field",
    [
        ("networkShape=1,1,1,1,1,1,1", "networkShape"),
        ("networkShape=9", "networkShape"),
        ("networkShape=0", "networkShape"),
        ("networkShape=a", "networkShape"),
        ("batchSize=31", "batchSize"),
        ("batchSize=0", "batchSize"),
        ("noise=55", "noise"),
        ("percTrainData=95", "percTrainData"),
        ("learningRate=0.05", "learningRate"),
        ("learningRate=nan", "learningRate"),
        ("regularizationRate=-1", "regularizationRate"),
        ("activation=elu", "activation"),
        ("dataset=moons", "dataset"),
        ("problem=ranking", "problem"),
        ("optimizer=lbfgs", "optimizer"),
        ("seed=-1", "seed"),
        ("seed=99999999999", "seed"),
        ("x=maybe", "x"),
        ("color=red", "unknown field"),
        ("noise=1&noise=2", "given twice"),
        ("x=false&y=false", "features"),
        ("compare=seed&compareValues=1", "compareValues"),
        ("compare=seed&compareValues=1,2,3,4,5", "compareValues"),
        ("compare=learningRate&compareValues=0.03,0.03", "compareValues"),
        ("compare=regularizationRate&compareValues=0.1,1", "compare"),
        ("compareValues=1,2", "compareValues"),
    ],
)
def test_out_of_bounds_fields_are_rejected_with_a_message_naming_them(query, field):
    with pytest.raises(ConfigError, match=field):
        Config.from_query(query)


def test_the_cli_serves_loopback_only_unless_told_otherwise(capsys):
    assert parse_args([]).host == "127.0.0.1"
    with pytest.raises(SystemExit):
        parse_args(["--host", "0.0.0.0"])
    assert "loopback" in capsys.readouterr().err
    assert parse_args(["--host", "0.0.0.0", "--allow-remote"]).allow_remote


# ---- engine --------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_run_is_deterministic_and_its_losses_fall():
    config = Config()
    first, second = engine.Run(config), engine.Run(config)
    for run in (first, second):
        run.train(0)
        run.train(5)
        run.train(3)
    np.testing.assert_array_equal(first.history, second.history)
    np.testing.assert_array_equal(first.output_images(), second.output_images())
    assert first.history.shape == (1, 8, 4) and first.epoch == 8
    assert first.history[0, -1, 1] < first.initial_history[0, 0]
    assert first.node_images().shape == (6, 50, 50) and first.output_images().shape == (1, 100, 100)
    other = engine.Run(config.replace(seed=1))
    other.train(2)
    assert not np.array_equal(other.history, first.history[:, :2])


@pytest.mark.slow
def test_variants_train_as_one_program_and_each_equals_its_run_alone():
    config = EXPORTED.replace(compare="seed", compareValues=(4, 0))  # the data come from the config's seed, 0
    run = engine.Run(config)
    run.train(4)
    alone = engine.Run(config.replace(compare="none", compareValues=()))
    alone.train(4)
    np.testing.assert_allclose(run.history[1], alone.history[0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(run.history[0], run.history[1])


# ---- API -----------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(max_sessions=3, warm_up=False), base_url="http://127.0.0.1") as client:
        yield client


@pytest.fixture(scope="module")
def session(client):
    response = client.post("/api/sessions", json={"config": Config().to_query()})
    assert response.status_code == 201, response.text
    return response.json()


def frames(client, session_id, count):
    with client.stream("GET", f"/api/sessions/{session_id}/events?limit={count}") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        return [json.loads(line[len("data: ") :]) for line in response.iter_lines() if line.startswith("data: ")]


def test_the_page_and_its_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "playground.js" in page.text
    for name in ("playground.js", "network.js", "plots.js", "playground.css"):
        assert client.get(f"/static/{name}").status_code == 200
    assert "http://" not in page.text.replace("http://www.w3.org", "")  # no CDN, no network
    assert client.get("/api/options").json()["learningRates"][0] == "0.00001"
    assert set(client.get("/api/previews").json()) == {"circle", "xor", "gauss", "spiral", "reg-plane", "reg-gauss"}


@pytest.mark.parametrize(
    "method, path, body, status",
    [
        ("post", "/api/sessions", {"config": "networkShape=1,2,3,4,5,6,7"}, 400),
        ("post", "/api/sessions", {"config": "batchSize=1000"}, 400),
        ("post", "/api/sessions", {"config": 5}, 400),
        ("post", "/api/sessions", [1, 2], 400),
        ("post", "/api/sessions", "not json", 400),
        ("put", "/api/sessions/nope/config", {"config": ""}, 404),
        ("post", "/api/sessions/nope/control", {"action": "play"}, 404),
        ("get", "/api/sessions/nope/events", None, 404),
        ("get", "/api/sessions/nope/export/script", None, 404),
        ("delete", "/api/sessions", None, 405),
    ],
)
def test_bad_requests_get_a_4xx_with_a_message_and_no_stack_trace(client, method, path, body, status):
    kwargs = {} if body is None else ({"content": body, "headers": JSON} if isinstance(body, str) else {"json": body})
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == status
    assert response.json()["error"] and "Traceback" not in response.text


def test_bad_session_requests(client, session):
    base = f"/api/sessions/{session['id']}"
    cases = [
        (f"{base}/control", {"action": "explode"}),
        (f"{base}/control", {"speed": 7}),
        (f"{base}/control", {"focus": 3}),
        (f"{base}/control", {"extra": 1}),
        (f"{base}/config", {"config": "activation=softplus"}),
    ]
    for path, body in cases:
        response = (client.put if path.endswith("config") else client.post)(path, json=body)
        assert response.status_code == 400, (path, body, response.text)
        assert "Traceback" not in response.text
    assert client.post(f"{base}/control", content="action=play").status_code == 415
    assert client.get(f"{base}/events?limit=-1").status_code == 400
    assert client.get(f"{base}/export/model?variant=5").status_code == 400
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400  # DNS rebinding


@pytest.mark.slow
def test_play_streams_frames_step_trains_one_epoch_and_reset_restarts(client, session):
    base = f"/api/sessions/{session['id']}"
    assert session["meta"]["layers"] == [2, 4, 2, 1] and len(session["meta"]["points"]) == 500
    first = frames(client, session["id"], 1)[0]
    assert first["meta"]["numTrain"] == 250 and first["epoch"] == 0
    assert client.post(f"{base}/control", json={"action": "play", "speed": 5}).json()["playing"]
    received = frames(client, session["id"], 4)
    assert client.post(f"{base}/control", json={"action": "pause"}).json()["playing"] is False
    epochs = [f["epoch"] for f in received if "epoch" in f]
    assert epochs[-1] > max(epochs[0], 0)  # the first event is the frame current when the stream opens
    last = received[-1]
    assert len(last["weights"]) == 3 and len(last["weights"][0]["kernel"]) == 2
    assert len(last["history"]["epochs"]) == len(last["history"]["train"][0])
    import base64

    assert len(base64.b64decode(last["nodes"])) == 6 * 50 * 50 and len(base64.b64decode(last["outputs"])) == 100**2
    epoch = frames(client, session["id"], 1)[0]["epoch"]
    client.post(f"{base}/control", json={"action": "step"})
    assert frames(client, session["id"], 1)[0]["epoch"] == epoch + 1
    # the learning rate changes without a restart, as in the Playground; the noise restarts
    answer = client.put(f"{base}/config", json={"config": Config(learningRate=0.1).to_query()}).json()
    assert answer["restarted"] is False and "learningRate=0.1" in answer["config"]
    assert client.put(f"{base}/config", json={"config": Config(noise=20).to_query()}).json()["restarted"]
    assert frames(client, session["id"], 1)[0]["epoch"] == 0
    client.post(f"{base}/control", json={"action": "reset"})
    assert frames(client, session["id"], 1)[0]["epoch"] == 0


def test_a_diverging_run_stops_and_says_why(client):
    created = client.post("/api/sessions", json={"config": "problem=regression&learningRate=3&networkShape="}).json()
    base = f"/api/sessions/{created['id']}"
    client.post(f"{base}/control", json={"action": "play"})
    frame = frames(client, created["id"], 1)[0]
    for _ in range(50):
        if not frame["state"]["playing"]:
            break
        frame = frames(client, created["id"], 1)[0]
    assert frame["state"]["playing"] is False and "not finite" in frame["state"]["status"]


def test_sessions_are_bounded(client):
    app_sessions = client.app.state.sessions
    ids = [client.post("/api/sessions", json={"config": ""}).json()["id"] for _ in range(4)]
    assert len(app_sessions.by_id) <= 3 and ids[-1] in app_sessions.by_id
    assert client.delete(f"/api/sessions/{ids[-1]}").status_code == 204
    assert ids[-1] not in app_sessions.by_id
    assert client.post(f"/api/sessions/{ids[-1]}/control", json={}).status_code == 404
    idle = app_sessions.idle_seconds
    try:
        app_sessions.idle_seconds = 0.0  # every session without a listener is idle now
        client.post("/api/sessions", json={"config": ""})  # creating one reaps the idle ones first
        assert len(app_sessions.by_id) == 1
    finally:
        app_sessions.idle_seconds = idle


def test_a_body_over_the_limit_is_refused(client):
    response = client.post("/api/sessions", content=b"{" + b" " * 20000 + b"}", headers=JSON)
    assert response.status_code == 413 and "bytes" in response.json()["error"]


# ---- exports -------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_exported_script_reproduces_the_pages_losses(client, tmp_path):
    query = EXPORTED.to_query()
    created = client.post("/api/sessions", json={"config": query}).json()
    base = f"/api/sessions/{created['id']}"
    for _ in range(3):
        client.post(f"{base}/control", json={"action": "step"})
    client.put(f"{base}/config", json={"config": query.replace("learningRate=0.03", "learningRate=0.1")})
    for _ in range(2):
        client.post(f"{base}/control", json={"action": "step"})
    script = client.get(f"{base}/export/script")
    assert script.status_code == 200 and "attachment" in script.headers["content-disposition"]
    path = tmp_path / "playground_run.py"
    path.write_text(script.text)
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    result = subprocess.run([sys.executable, str(path), "--json"], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    histories = json.loads(result.stdout)
    rows = [line.split(",") for line in client.get(f"{base}/export/history.csv").text.strip().splitlines()]
    header, rows = rows[0], rows[1:]
    assert header == [
        "variant",
        "seed",
        "learning_rate",
        "regularization_rate",
        "epoch",
        "train_loss",
        "test_loss",
        "loss",
        "val_loss",
    ]
    assert len(rows) == 2 * 5 and [r[2] for r in rows[:5]] == ["0.03"] * 3 + ["0.1"] * 2
    for k, history in enumerate(histories):
        page = np.array([[float(r[7]), float(r[8])] for r in rows if r[0] == str(k)])
        np.testing.assert_allclose(history["loss"], page[:, 0], rtol=1e-4)
        np.testing.assert_allclose(history["val_loss"], page[:, 1], rtol=1e-4)


def test_the_model_downloads_as_safetensors_that_predict_as_the_session_and_nothing_stays_on_disk(
    client, tmp_path, monkeypatch
):
    folders = []
    save_model = fn.save_model
    monkeypatch.setattr(
        fn, "save_model", lambda path, *args: folders.append(os.path.dirname(path)) or save_model(path, *args)
    )
    session = client.post("/api/sessions", json={"config": Config(networkShape=(3, 2)).to_query()}).json()
    response = client.get(f"/api/sessions/{session['id']}/export/model")
    assert response.status_code == 200
    assert len(folders) == 1 and not os.path.exists(folders[0])  # written to a temporary folder, removed
    path = tmp_path / "playground.safetensors"
    path.write_bytes(response.content)
    model, params = fn.load_model(str(path))
    assert sorted(params) == ["hidden_1", "hidden_2", "output"]
    assert [params[name]["kernel"].shape[1] for name in ("hidden_1", "hidden_2", "output")] == [3, 2, 1]
    run = client.app.state.sessions.get(session["id"]).run
    x = np.random.default_rng(0).normal(size=(7, params["hidden_1"]["kernel"].shape[0])).astype(np.float32)
    np.testing.assert_array_equal(model.apply(params, x), run.model().apply(run.params(0), x))


def test_the_script_of_a_fresh_run_runs_and_names_only_public_api():
    run = engine.Run(Config(problem="regression", networkShape=()))
    text = export.script(run)
    compile(text, "playground_run.py", "exec")
    assert "._" not in text.replace("._replace", "") and "fn.layers.Dense(1, activation='linear'" in text
    assert "EPOCHS = 0" in text and "targets = 2 * targets" not in text
    assert export.history_csv(run).count("\n") == 1


def test_keys_are_the_documented_ones():
    data_key, init_key, fit_key = engine.data_keys(5)
    np.testing.assert_array_equal(
        jax.random.key_data(data_key), jax.random.key_data(jax.random.fold_in(jax.random.key(5), 0))
    )
    assert not np.array_equal(jax.random.key_data(init_key), jax.random.key_data(fit_key))
