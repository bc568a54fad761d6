// The network diagram of the fnnet Playground: input features, hidden neurons and the output as heat-map
// thumbnails, weights as SVG links (width: magnitude, colour: sign), biases as small marks, values on hover.

import {css, drawHeatmap} from "./plots.js";

const NODE = 36, STEP = 50, TOP = 44, LEFT = 56;
const SVG = "http://www.w3.org/2000/svg";
export const FEATURE_LABELS = {x: "X₁", y: "X₂", xSquared: "X₁²", ySquared: "X₂²", xTimesY: "X₁X₂",
                               sinX: "sin(X₁)", sinY: "sin(X₂)"};
export const FEATURE_NAMES = Object.keys(FEATURE_LABELS);

function linkWidth(w) { return 1 + 9 * Math.min(Math.abs(w), 5) / 5; }   // the Playground's scale [0, 5] -> [1, 10]

export class Network {
  // handlers: {toggleFeature(name), changeNeurons(layer, delta), hover(node or null), tooltip(text, event)}
  constructor(container, svg, handlers) {
    this.container = container; this.svg = svg; this.handlers = handlers;
    this.nodes = []; this.links = []; this.biases = [];
  }

  // meta: {features: active names, layers: [inputs, ...hidden, 1]}
  build(meta) {
    this.meta = meta;
    for (const el of this.container.querySelectorAll(".node, .layer-head")) el.remove();
    this.svg.replaceChildren();
    const hidden = meta.layers.slice(1, -1);
    const width = this.container.clientWidth || 600;
    const rows = Math.max(FEATURE_NAMES.length, ...hidden, 1);
    const height = TOP + rows * STEP;
    this.container.style.height = `${height}px`;
    this.svg.setAttribute("width", width); this.svg.setAttribute("height", height);
    const outputX = width - NODE - 6;
    const columnX = l => LEFT + (outputX - LEFT) * (l + 1) / (hidden.length + 1);   // hidden layer l
    this.positions = [];                     // per column: [[x, y], ...] of node centres
    this.nodes = [];
    const active = meta.features;
    const featureColumn = [];
    FEATURE_NAMES.forEach((name, i) => {
      const on = active.includes(name);
      const node = this.addNode(LEFT, TOP + i * STEP, {kind: "feature", name, index: i, on});
      node.title = on ? "" : "click to feed this feature in";
      const label = document.createElement("span");
      label.className = "label"; label.textContent = FEATURE_LABELS[name];
      node.appendChild(label);
      node.addEventListener("click", () => handlers(this).toggleFeature(name));
      if (on) featureColumn.push([LEFT + NODE / 2, TOP + i * STEP + NODE / 2]);
    });
    this.positions.push(featureColumn);
    let neuron = 0;
    hidden.forEach((units, l) => {
      const x = columnX(l), column = [];
      this.addLayerHead(x, l, units);
      for (let j = 0; j < units; j++) {
        this.addNode(x, TOP + j * STEP, {kind: "neuron", index: neuron++, layer: l, unit: j});
        column.push([x + NODE / 2, TOP + j * STEP + NODE / 2]);
      }
      this.positions.push(column);
    });
    this.addNode(outputX, TOP, {kind: "output", index: neuron});
    this.positions.push([[outputX + NODE / 2, TOP + NODE / 2]]);
    this.buildLinks();
  }

  addNode(x, y, info) {
    const node = document.createElement("div");
    node.className = `node ${info.kind}${info.on === false ? " off" : ""}`;
    Object.assign(node.style, {left: `${x}px`, top: `${y}px`, width: `${NODE}px`, height: `${NODE}px`});
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = NODE;
    node.appendChild(canvas);
    node.addEventListener("mouseenter", () => handlers(this).hover(info));
    node.addEventListener("mouseleave", () => handlers(this).hover(null));
    this.container.appendChild(node);
    this.nodes.push({element: node, canvas, info});
    return node;
  }

  addLayerHead(x, layer, units) {
    const head = document.createElement("div");
    head.className = "layer-head";
    head.style.left = `${x + NODE / 2}px`;
    const plus = document.createElement("button"), minus = document.createElement("button");
    plus.className = minus.className = "round tiny";
    plus.textContent = "+"; minus.textContent = "−";
    plus.title = "Add a neuron"; minus.title = "Remove a neuron";
    plus.addEventListener("click", () => handlers(this).changeNeurons(layer, +1));
    minus.addEventListener("click", () => handlers(this).changeNeurons(layer, -1));
    const label = document.createElement("div");
    label.textContent = `${units} neuron${units === 1 ? "" : "s"}`;
    head.append(plus, minus, label);
    this.container.appendChild(head);
  }

  buildLinks() {
    this.links = []; this.biases = [];
    const handler = handlers(this);
    for (let l = 0; l + 1 < this.positions.length; l++) {
      const from = this.positions[l], to = this.positions[l + 1];
      to.forEach(([x2, y2], j) => from.forEach(([x1, y1], i) => {
        const sx = x1 + NODE / 2, ex = x2 - NODE / 2, mx = (sx + ex) / 2;
        const d = `M${sx},${y1} C${mx},${y1} ${mx},${y2} ${ex},${y2}`;
        const path = document.createElementNS(SVG, "path");
        path.setAttribute("d", d); path.setAttribute("class", "link");
        const hit = document.createElementNS(SVG, "path");
        hit.setAttribute("d", d); hit.setAttribute("class", "link-hit");
        const link = {path, layer: l, i, j, value: 0};
        hit.addEventListener("mousemove", e => handler.tooltip(`Weight is ${link.value.toFixed(5)}`, e));
        hit.addEventListener("mouseleave", () => handler.tooltip(null));
        this.svg.append(path, hit);
        this.links.push(link);
      }));
      to.forEach(([x, y], j) => {
        const mark = document.createElementNS(SVG, "rect");
        Object.entries({x: x - NODE / 2 - 8, y: y + NODE / 2 - 7, width: 6, height: 6, class: "bias"})
          .forEach(([k, v]) => mark.setAttribute(k, v));
        const bias = {mark, layer: l, j, value: 0};
        mark.addEventListener("mousemove", e => handler.tooltip(`Bias is ${bias.value.toFixed(5)}`, e));
        mark.addEventListener("mouseleave", () => handler.tooltip(null));
        this.svg.appendChild(mark);
        this.biases.push(bias);
      });
    }
  }

  // weights: [{kernel: [[...]], bias: [...]}] per layer
  updateWeights(weights) {
    for (const link of this.links) {
      const w = weights[link.layer].kernel[link.i][link.j];
      link.value = w;
      link.path.setAttribute("stroke", css(w));
      link.path.setAttribute("stroke-width", linkWidth(w).toFixed(2));
    }
    for (const bias of this.biases) {
      bias.value = weights[bias.layer].bias[bias.j];
      bias.mark.setAttribute("fill", css(bias.value));
    }
  }

  // featureBytes: all features' images; nodeBytes: hidden neurons' images; outputBytes + outputOffset: the output
  updateImages(featureBytes, nodeBytes, thumb, outputBytes, outputOffset, grid, discrete) {
    for (const {canvas, info} of this.nodes) {
      if (info.kind === "feature") drawHeatmap(canvas, featureBytes, info.index * thumb * thumb, thumb);
      else if (info.kind === "neuron") drawHeatmap(canvas, nodeBytes, info.index * thumb * thumb, thumb);
      else drawHeatmap(canvas, outputBytes, outputOffset, grid, discrete);
    }
  }
}

function handlers(network) { return network.handlers; }
