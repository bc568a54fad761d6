// The fnnet Playground page: keeps the configuration in the URL's hash, sends every change to the server,
// and draws the frames the server streams (server-sent events): epoch, losses, weights and heat maps.
// window.playground.stats counts the frames drawn and the epochs seen (the browser test reads them).

import {Chart, decode, drawHeatmap, drawLegend, drawPoints, drawThumbnail, VARIANT_COLOURS} from "./plots.js";
import {FEATURE_NAMES, Network} from "./network.js";

const $ = id => document.getElementById(id);
const CLASSIFICATION_SETS = ["circle", "xor", "gauss", "spiral"], REGRESSION_SETS = ["reg-plane", "reg-gauss"];
const app = {
  id: null, config: new URLSearchParams(), meta: null, frame: null, options: null, hover: null, pending: false,
  featureBytes: null, nodeBytes: null, outputBytes: null, previews: {},
  stats: {redraws: 0, frames: 0, epoch: 0, started: performance.now()},
};
window.playground = app;
const chart = new Chart($("chart"));
let events = null;

// ---- server calls ----------------------------------------------------------------------------------------------
async function call(method, path, body) {
  const response = await fetch(path, {method, headers: {"Content-Type": "application/json"},
                                      body: body === undefined ? undefined : JSON.stringify(body)});
  const data = await response.json().catch(() => ({error: `HTTP ${response.status}`}));
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}

function message(text, error = true) {
  const box = $("message");
  box.textContent = text || "";
  box.classList.toggle("error", error);
  clearTimeout(message.timer);
  if (text) message.timer = setTimeout(() => { box.textContent = ""; }, 8000);
}

async function start() {
  app.options = await call("GET", "/api/options");
  fillSelects();
  app.previews = await call("GET", "/api/previews");
  drawLegend($("legend"));
  let created;
  try {
    created = await call("POST", "/api/sessions", {config: location.hash.slice(1)});
  } catch (error) {
    message(`The link's configuration was not accepted: ${error.message}. Starting from the defaults.`);
    created = await call("POST", "/api/sessions", {config: ""});
  }
  setSession(created.id);
  setConfig(created.config);
  connect();
  window.addEventListener("hashchange", () => {
    if (location.hash.slice(1) !== app.config.toString()) send(new URLSearchParams(location.hash.slice(1)));
  });
}

function connect() {
  if (events) events.close();
  events = new EventSource(`/api/sessions/${app.id}/events`);
  events.addEventListener("frame", event => receive(JSON.parse(event.data)));
  events.onerror = () => { message("Lost the connection to the server; retrying…"); setTimeout(recover, 2000); };
}

// After a lost connection: if the server no longer knows the session (restarted, or closed it after being
// idle), start a new one with the same configuration.
async function recover() {
  if (events && events.readyState === EventSource.OPEN) return message("");
  if (app.id !== null) {                     // null: an earlier try lost the session but could not make a new one
    const response = await fetch(`/api/sessions/${app.id}/control`, {method: "POST",
      headers: {"Content-Type": "application/json"}, body: "{}"}).catch(() => null);
    if (!response) return setTimeout(recover, 2000);
    if (response.status !== 404) return;
    setSession(null);
  }
  let created;
  try { created = await call("POST", "/api/sessions", {config: app.config.toString()}); } catch {
    return setTimeout(recover, 2000);
  }
  setSession(created.id);
  setConfig(created.config);
  connect();
  message("");
}

// The session the page drives, null while there is none (before the first exists, while a lost one is replaced).
// The controls that act on it are disabled while it is null (the page's markup starts them disabled), so no
// request is ever sent to /api/sessions/null/....
function setSession(id) {
  app.id = id;
  for (const [link, path] of [["exportScript", "script"], ["exportModel", "model"], ["exportCsv", "history.csv"]])
    if (id === null) $(link).removeAttribute("href"); else $(link).href = `/api/sessions/${id}/export/${path}`;
  setReady(id !== null);
}

// Play, step, reset and the speed: enabled only while the session exists and its run is not being rebuilt
// (the server's status is "compiling" during a reset or a configuration change that restarts the run).
function setReady(ready) {
  for (const id of ["play", "step", "reset", "speed"]) $(id).disabled = !ready;
}

// Send a new configuration; the server validates it and answers with its canonical form.
async function send(config) {
  if (app.id === null) return;               // no session yet: setConfig puts the controls back when there is one
  try {
    const answer = await call("PUT", `/api/sessions/${app.id}/config`, {config: config.toString()});
    setConfig(answer.config);
  } catch (error) {
    message(error.message);
    setConfig(app.config.toString());        // back to what the server runs
  }
}

function change(updates) {
  const config = new URLSearchParams(app.config);
  for (const [k, v] of Object.entries(updates)) config.set(k, v);
  send(config);
}

async function control(body) {
  if (app.id === null) return;               // no session to control (its buttons are disabled meanwhile)
  try { await call("POST", `/api/sessions/${app.id}/control`, body); } catch (error) { message(error.message); }
}

// ---- the configuration in the controls and the URL -----------------------------------------------------------
function fillSelects() {
  const fill = (id, values, label = v => v) =>
    $(id).replaceChildren(...values.map(v => new Option(label(v), String(v))));
  fill("learningRate", app.options.learningRates);
  fill("regularizationRate", app.options.regularizationRates);
  fill("optimizer", app.options.optimizers, v => ({sgd: "SGD", momentum: "SGD + momentum", nesterov: "Nesterov",
    adam: "Adam", rmsprop: "RMSprop", adagrad: "Adagrad", adadelta: "Adadelta", adamax: "Adamax", nadam: "Nadam",
    amsgrad: "AMSGrad"})[v] || v);
  fill("speed", app.options.speeds);
}

function setConfig(query) {
  app.config = new URLSearchParams(query);
  const c = app.config;
  history.replaceState(null, "", `#${query}`);
  for (const id of ["learningRate", "activation", "regularization", "regularizationRate", "problem", "optimizer",
                    "compare"]) $(id).value = c.get(id) || "none";
  for (const id of ["percTrainData", "noise", "batchSize"]) {
    $(id).value = c.get(id);
    $(`${id}Value`).textContent = c.get(id);
  }
  for (const id of ["showTestData", "discretize"]) $(id).checked = c.get(id) === "true";
  $("compareValues").value = c.get("compareValues") || "";
  $("compareValuesBox").style.display = c.get("compare") && c.get("compare") !== "none" ? "" : "none";
  $("learningRate").disabled = c.get("compare") === "learningRate";
  $("regularizationRate").disabled = c.get("compare") === "regularizationRate" || c.get("regularization") === "none";
  const layers = (c.get("networkShape") || "").split(",").filter(Boolean).length;
  $("layersLabel").textContent = `${layers} hidden layer${layers === 1 ? "" : "s"}`;
  drawDatasets();
  app.pointsDirty = true;
  schedule();
}

function drawDatasets() {
  const regression = app.config.get("problem") === "regression";
  const names = regression ? REGRESSION_SETS : CLASSIFICATION_SETS;
  const selected = app.config.get(regression ? "regDataset" : "dataset");
  $("datasets").replaceChildren(...names.map(name => {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 60;
    canvas.className = `dataset${name === selected ? " selected" : ""}`;
    canvas.title = name;
    canvas.dataset.name = name;
    if (app.previews[name]) drawThumbnail(canvas, app.previews[name]);
    canvas.addEventListener("click", () => change({[regression ? "regDataset" : "dataset"]: name}));
    return canvas;
  }));
}

function shape() { return (app.config.get("networkShape") || "").split(",").filter(Boolean).map(Number); }

const network = new Network($("network"), $("links"), {
  toggleFeature(name) {
    const on = app.config.get(name) === "true";
    const active = FEATURE_NAMES.filter(f => app.config.get(f) === "true");
    if (on && active.length === 1) return message("At least one input feature is needed.");
    change({[name]: String(!on)});
  },
  changeNeurons(layer, delta) {
    const s = shape(), units = s[layer] + delta;
    if (units < 1 || units > app.options.maxNeurons) return;
    s[layer] = units;
    change({networkShape: s.join(",")});
  },
  hover(info) { app.hover = info; schedule(); },
  tooltip(text, event) {
    const tip = $("tooltip");
    tip.style.display = text ? "block" : "none";
    if (!text) return;
    tip.textContent = text;
    tip.style.left = `${event.pageX + 12}px`;
    tip.style.top = `${event.pageY - 28}px`;
  },
});

function wireControls() {
  for (const id of ["learningRate", "activation", "regularization", "regularizationRate", "problem", "optimizer"])
    $(id).addEventListener("change", () => change({[id]: $(id).value}));
  for (const id of ["percTrainData", "noise", "batchSize"]) {
    $(id).addEventListener("input", () => { $(`${id}Value`).textContent = $(id).value; });
    $(id).addEventListener("change", () => change({[id]: $(id).value}));
  }
  for (const id of ["showTestData", "discretize"])
    $(id).addEventListener("change", () => change({[id]: String($(id).checked)}));
  $("regenerate").addEventListener("click", () => change({seed: String(Math.floor(Math.random() * 2147483647))}));
  $("play").addEventListener("click", () => control({action: app.playing ? "pause" : "play"}));
  $("step").addEventListener("click", () => control({action: "step"}));
  $("reset").addEventListener("click", () => control({action: "reset"}));
  $("speed").addEventListener("change", () => control({speed: Number($("speed").value)}));
  $("addLayer").addEventListener("click", () => {
    const s = shape();
    if (s.length < app.options.maxLayers) change({networkShape: [...s, 2].join(",")});
  });
  $("removeLayer").addEventListener("click", () => {
    const s = shape();
    if (s.length) change({networkShape: s.slice(0, -1).join(",")});
  });
  $("compare").addEventListener("change", () => {
    const kind = $("compare").value, seed = Number(app.config.get("seed"));
    const defaults = {none: "", learningRate: "0.003,0.01,0.03,0.1", regularizationRate: "0.001,0.01,0.1,1",
                      seed: [0, 1, 2, 3].map(i => (seed + i) % 2147483647).join(",")};
    const updates = {compare: kind, compareValues: defaults[kind]};
    if (kind === "regularizationRate" && app.config.get("regularization") === "none") updates.regularization = "L2";
    change(updates);
  });
  $("compareValues").addEventListener("change", () => change({compareValues: $("compareValues").value}));
}

// ---- frames ----------------------------------------------------------------------------------------------------
function receive(payload) {
  const state = payload.state;
  app.playing = state.playing;
  document.body.classList.toggle("playing", state.playing);
  $("speed").value = String(state.speed);
  setReady(app.id !== null && state.status !== "compiling");
  $("status").textContent = state.status === "ready" ? "" : state.status;
  $("status").style.display = state.status === "ready" ? "none" : "block";
  if (payload.meta) {
    app.meta = payload.meta;
    app.featureBytes = decode(payload.meta.featureImages);
    network.build(payload.meta);
    chart.reset(payload.meta.variants.length);
    payload.meta.initial.forEach(([train, test], k) => chart.add(k, [0], [train], [test]));
    app.pointsDirty = true;
    buildVariants();
  }
  if (payload.epoch === undefined) return;
  payload.history.train.forEach((train, k) => chart.add(k, payload.history.epochs, train, payload.history.test[k]));
  app.frame = payload;
  app.nodeBytes = decode(payload.nodes);
  app.outputBytes = decode(payload.outputs);
  app.stats.frames += 1;
  app.stats.epoch = payload.epoch;
  app.fresh = true;
  schedule();
}

function schedule() {
  if (!app.pending) { app.pending = true; requestAnimationFrame(render); }
}

function buildVariants() {
  const box = $("variants"), variants = app.meta.variants, kind = app.meta.compare;
  box.replaceChildren();
  if (variants.length < 2) return;
  variants.forEach((v, k) => {
    const cell = document.createElement("div");
    cell.className = "variant";
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 70;
    const label = document.createElement("div");
    const name = {learningRate: "learning rate", regularizationRate: "regularization", seed: "seed"}[kind];
    label.innerHTML = `${swatch(k)}${name}<br>${v[kind]}`;
    const loss = document.createElement("div");
    loss.className = "variant-loss";
    cell.append(canvas, label, loss);
    cell.addEventListener("click", () => control({focus: k}));
    box.appendChild(cell);
  });
}

function swatch(k) { return `<span class="swatch" style="background:${VARIANT_COLOURS[k]}"></span>`; }

function pad(epoch) { return String(epoch).padStart(6, "0").replace(/\B(?=(\d{3})+(?!\d))/g, ","); }

function render() {
  app.pending = false;
  const {meta, frame} = app;
  if (!meta || !frame) return;
  const discrete = app.config.get("discretize") === "true", grid = meta.grid, thumb = meta.thumb;
  const focus = frame.focus || 0;
  $("epoch").textContent = pad(frame.epoch);
  $("losses").innerHTML = frame.losses.map(([train, test], k) =>
    `<div class="loss-row">${frame.losses.length > 1 ? swatch(k) : ""}` +
    `<span>Test loss <b>${test.toFixed(3)}</b></span>` +
    `<span>Training loss <b>${train.toFixed(3)}</b></span></div>`).join("");
  const hover = app.hover;
  const heatmap = $("heatmap");
  const offset = hover ? hover.index * thumb * thumb : 0;
  if (hover && hover.kind === "feature") drawHeatmap(heatmap, app.featureBytes, offset, thumb, discrete);
  else if (hover && hover.kind === "neuron") drawHeatmap(heatmap, app.nodeBytes, offset, thumb, discrete);
  else drawHeatmap(heatmap, app.outputBytes, focus * grid * grid, grid, discrete);
  $("heatmapLabel").textContent = hover && hover.kind !== "output" ?
    (hover.kind === "feature" ? `input ${hover.name}` : `layer ${hover.layer + 1}, neuron ${hover.unit + 1}`) :
    (meta.variants.length > 1 ? `variant ${focus + 1}` : "");
  if (app.pointsDirty) {
    drawPoints($("points"), meta.points, meta.numTrain, app.config.get("showTestData") === "true");
    app.pointsDirty = false;
  }
  if (app.fresh) {
    network.updateWeights(frame.weights);
    network.updateImages(app.featureBytes, app.nodeBytes, thumb, app.outputBytes, focus * grid * grid, grid, discrete);
    [...$("variants").children].forEach((cell, k) => {
      drawHeatmap(cell.querySelector("canvas"), app.outputBytes, k * grid * grid, grid, discrete);
      cell.classList.toggle("focused", k === focus);
      cell.querySelector(".variant-loss").textContent = `test ${frame.losses[k][1].toFixed(3)}`;
    });
    chart.draw();
    app.stats.redraws += 1;
    app.fresh = false;
  }
  updateSpeed();
}

function updateSpeed() {
  const now = performance.now(), s = app.stats;
  if (!s.window || now - s.window.time > 2000) {
    if (s.window) {
      const dt = (now - s.window.time) / 1000;
      $("speedStats").textContent = `${((s.epoch - s.window.epoch) / dt).toFixed(0)} epochs/s · ` +
        `${((s.redraws - s.window.redraws) / dt).toFixed(0)} redraws/s`;
    }
    s.window = {time: now, epoch: s.epoch, redraws: s.redraws};
  }
}

wireControls();
start().catch(error => message(`The Playground could not start: ${error.message}`));
