"""The Playground in a real browser: Debian's Chromium, headless, through Playwright's sync API.

Starts uvicorn on a free 127.0.0.1 port in a thread, opens the page, plays,
and checks that the epoch counter advances and the loss falls, measures the
epochs per second and the redraws per second the page sees (the default
network must do >= 20 epochs/s and >= 10 redraws/s), hovers a neuron and a
weight, checks that a link's configuration is reproduced, writes a
screenshot to out/playground.png, and checks that play pressed before the
session exists is disabled, never sent to /api/sessions/null/.... Skipped
where /usr/bin/chromium is missing (CI installs it).
"""

import pathlib
import socket
import threading
import time

import pytest

CHROMIUM = pathlib.Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
OUT = pathlib.Path(__file__).resolve().parents[1] / "out"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium); CI installs it",
    ),
]


@pytest.fixture(scope="module")
def server():
    uvicorn = pytest.importorskip("uvicorn")
    from fnnet.playground.server import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def stats(page):
    return page.evaluate("({...window.playground.stats, losses: window.playground.frame.losses, t: performance.now()})")


def test_play_trains_fast_and_draws_every_frame(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server)
    page.wait_for_function("window.playground && window.playground.frame", timeout=120_000)
    first = stats(page)
    assert first["epoch"] == 0
    assert page.locator(".node.neuron").count() == 6 and page.locator("path.link").count() == 2 * 4 + 4 * 2 + 2
    page.click("#play")
    page.wait_for_function("window.playground.stats.epoch > 30", timeout=60_000)
    start = stats(page)
    time.sleep(3.0)
    end = stats(page)
    seconds = (end["t"] - start["t"]) / 1000
    epochs_per_second = (end["epoch"] - start["epoch"]) / seconds
    redraws_per_second = (end["redraws"] - start["redraws"]) / seconds
    print(f"\nbrowser: {epochs_per_second:.1f} epochs/s, {redraws_per_second:.1f} redraws/s")
    assert epochs_per_second >= 20
    assert redraws_per_second >= 10
    assert end["losses"][0][1] < first["losses"][0][1]  # the test loss fell
    page.select_option("#speed", "100")  # the most epochs per frame: how fast the engine can go
    page.wait_for_timeout(1000)
    start = stats(page)
    time.sleep(3.0)
    end = stats(page)
    seconds = (end["t"] - start["t"]) / 1000
    print(
        f"browser, 100 epochs per frame: {(end['epoch'] - start['epoch']) / seconds:.0f} epochs/s, "
        f"{(end['redraws'] - start['redraws']) / seconds:.1f} redraws/s"
    )
    page.click("#play")  # pause
    page.wait_for_function("!document.body.classList.contains('playing')")
    paused = page.evaluate("window.playground.stats.epoch")
    page.click("#step")
    page.wait_for_function(f"window.playground.stats.epoch === {paused + 1}", timeout=10_000)
    page.locator(".node.neuron").first.hover()
    page.wait_for_function("document.getElementById('heatmapLabel').textContent.includes('neuron')")
    page.locator("path.link-hit").nth(3).hover(force=True)
    tip = page.locator("#tooltip")
    assert tip.is_visible() and tip.text_content().startswith("Weight is")
    page.check("#showTestData")
    page.mouse.move(5, 850)  # hover nothing: the heat map shows the output
    page.wait_for_timeout(300)
    OUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUT / "playground.png"))
    assert not errors, errors
    page.close()


def test_a_link_reproduces_its_configuration(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.goto(server + "#dataset=xor&networkShape=3&activation=relu&learningRate=0.1&xTimesY=true&seed=42")
    page.wait_for_function("window.playground && window.playground.frame", timeout=120_000)
    assert page.locator(".node.neuron").count() == 3
    assert page.input_value("#activation") == "relu" and page.input_value("#learningRate") == "0.1"
    hash_ = page.evaluate("location.hash")
    assert "seed=42" in hash_ and "xTimesY=true" in hash_ and "dataset=xor" in hash_
    page.goto(server + "#networkShape=12")  # a hash edited in place: refused, the page says why and keeps its run
    page.wait_for_function("document.getElementById('message').textContent.includes('networkShape')")
    page.wait_for_function("location.hash.includes('networkShape=3')")
    assert page.locator(".node.neuron").count() == 3
    page.close()
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.goto(server + "#networkShape=12")  # a refused link: the page says why and starts from the defaults
    page.wait_for_function("window.playground && window.playground.frame", timeout=120_000)
    assert "networkShape" in page.text_content("#message")
    assert page.locator(".node.neuron").count() == 6
    page.close()


def test_play_waits_for_the_session(server, browser):
    """Regression: play pressed before the first session existed posted to /api/sessions/null/control, got 404
    and the page said "no such session … reload the page" for good. The session's creation is held back here
    until play has been pressed, so the race is certain."""
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    urls, errors, held = [], [], []
    page.on("request", lambda request: urls.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.route(
        "**/api/sessions", lambda route: held.append(route) if route.request.method == "POST" else route.continue_()
    )
    page.goto(server, wait_until="domcontentloaded")
    page.click("#play", force=True)  # as early as a user can: the page has loaded, the session does not exist
    deadline = time.monotonic() + 30
    while not held:  # the page asked for its session: held, so it does not exist yet
        assert time.monotonic() < deadline, "the page did not ask for a session"
        page.wait_for_timeout(50)
    page.wait_for_timeout(500)  # time for a request the click would send, and its answer
    assert not [url for url in urls if "/null/" in url]
    assert "no such session" not in page.text_content("#message")
    for button in ("#play", "#step", "#reset"):
        assert page.is_disabled(button), f"{button} is enabled before the session exists"
    assert page.evaluate("window.playground.id") is None
    for route in held:
        route.continue_()
    page.wait_for_function("!document.getElementById('play').disabled", timeout=120_000)
    page.click("#play")
    page.wait_for_function("window.playground.stats.epoch > 5", timeout=60_000)
    assert not [url for url in urls if "/null/" in url]
    assert "no such session" not in page.text_content("#message")
    assert not errors, errors
    page.close()
