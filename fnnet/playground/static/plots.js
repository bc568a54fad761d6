// Drawing for the fnnet Playground: the colour scale, heat maps from byte images, data points, the loss chart.
// Values arrive quantized to bytes b = round((v + 1) * 127.5) for v clipped to [-1, 1]; colours follow the
// TensorFlow Playground: orange (-1), grey (0), blue (+1), in 30 shades on heat maps.

const ORANGE = [245, 147, 34], GREY = [232, 234, 235], BLUE = [8, 119, 189];
const NUM_SHADES = 30;
export const DOMAIN = 6;

function mix(a, b, t) { return a.map((v, i) => Math.round(v + (b[i] - v) * t)); }

export function colour(v) {            // v in [-1, 1] -> [r, g, b]
  const c = Math.max(-1, Math.min(1, v));
  return c < 0 ? mix(GREY, ORANGE, -c) : mix(GREY, BLUE, c);
}

export function css(v) { const [r, g, b] = colour(v); return `rgb(${r},${g},${b})`; }

// byte -> colour, quantized into NUM_SHADES shades as the Playground's heat map does; and discretized (sign)
function lut(discrete) {
  const table = new Uint8ClampedArray(256 * 4);
  for (let b = 0; b < 256; b++) {
    let v = b / 127.5 - 1;
    if (discrete) v = v >= 0 ? 1 : -1;
    else v = Math.min(NUM_SHADES - 1, Math.floor((v + 1) / 2 * NUM_SHADES)) / (NUM_SHADES - 1) * 2 - 1;
    const [r, g, bl] = colour(v);
    table.set([r, g, bl, 160], b * 4);            // the Playground's heat-map alpha
  }
  return table;
}
const LUTS = [lut(false), lut(true)];

const scratch = new Map();   // size -> {canvas, context, image}
function scratchCanvas(size) {
  if (!scratch.has(size)) {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = size;
    const context = canvas.getContext("2d");
    scratch.set(size, {canvas, context, image: context.createImageData(size, size)});
  }
  return scratch.get(size);
}

// Draw a size x size byte image (offset into bytes) onto canvas, upsampled smoothly.
export function drawHeatmap(canvas, bytes, offset, size, discrete = false) {
  const {canvas: small, context, image} = scratchCanvas(size);
  const table = LUTS[discrete ? 1 : 0], data = image.data;
  for (let i = 0; i < size * size; i++) {
    const b = bytes[offset + i] * 4;
    for (let c = 0; c < 4; c++) data[i * 4 + c] = table[b + c];
  }
  context.putImageData(image, 0, 0);
  const target = canvas.getContext("2d");
  target.clearRect(0, 0, canvas.width, canvas.height);
  target.imageSmoothingEnabled = !discrete;
  target.drawImage(small, 0, 0, size, size, 0, 0, canvas.width, canvas.height);
}

export function decode(base64) {
  const text = atob(base64), bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

// Data points [[x1, x2, target], ...]: training ones with a white ring, test ones with a black ring.
export function drawPoints(canvas, points, numTrain, showTest, radius = 3) {
  const context = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  context.clearRect(0, 0, w, h);
  const draw = (p, stroke) => {
    const x = (p[0] + DOMAIN) / (2 * DOMAIN) * w, y = (DOMAIN - p[1]) / (2 * DOMAIN) * h;
    context.beginPath();
    context.arc(x, y, radius, 0, 2 * Math.PI);
    context.fillStyle = css(p[2]);
    context.fill();
    context.lineWidth = 1;
    context.strokeStyle = stroke;
    context.stroke();
  };
  points.slice(0, numTrain).forEach(p => draw(p, "white"));
  if (showTest) points.slice(numTrain).forEach(p => draw(p, "black"));
}

// A dataset thumbnail: its points on a light background.
export function drawThumbnail(canvas, points) {
  const context = canvas.getContext("2d");
  context.fillStyle = "#f7f7f7";
  context.fillRect(0, 0, canvas.width, canvas.height);
  const {width: w, height: h} = canvas;
  for (const p of points) {
    context.fillStyle = css(p[2]);
    context.fillRect((p[0] + DOMAIN) / (2 * DOMAIN) * w - 1.5, (DOMAIN - p[1]) / (2 * DOMAIN) * h - 1.5, 3, 3);
  }
}

export function drawLegend(canvas) {
  const context = canvas.getContext("2d");
  for (let x = 0; x < canvas.width; x++) {
    context.fillStyle = css(x / (canvas.width - 1) * 2 - 1);
    context.fillRect(x, 0, 1, canvas.height);
  }
}

export const VARIANT_COLOURS = ["#222", "#e0462f", "#2b9a48", "#7b3fb5"];

// The loss chart: per series {points: [[epoch, loss], ...], colour, dash}; y from 0 to the maximum.
export class Chart {
  constructor(canvas) { this.canvas = canvas; this.series = []; }

  reset(count) {
    this.series = [];
    for (let k = 0; k < count; k++) {
      const colour = count > 1 ? VARIANT_COLOURS[k] : null;
      this.series.push({points: [], colour: colour || "#777", dash: [], label: "train"});   // training loss
      this.series.push({points: [], colour: colour || "#000", dash: count > 1 ? [] : [], width: 2, label: "test"});
      if (count > 1) this.series[this.series.length - 2].dash = [3, 3];
    }
  }

  add(k, epochs, train, test) {
    const [a, b] = [this.series[2 * k], this.series[2 * k + 1]];
    if (!a) return;
    for (let i = 0; i < epochs.length; i++) {
      a.points.push([epochs[i], train[i]]);
      b.points.push([epochs[i], test[i]]);
    }
    for (const s of [a, b]) if (s.points.length > 4000) s.points = s.points.filter((_, i) => i % 2 === 0);
  }

  draw() {
    const {canvas} = this, context = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
    context.clearRect(0, 0, w, h);
    let maxX = 1, maxY = 1e-9;
    for (const s of this.series) for (const [x, y] of s.points) {
      if (x > maxX) maxX = x;
      if (Number.isFinite(y) && y > maxY) maxY = y;
    }
    const pad = 2;
    for (const s of this.series) {
      if (!s.points.length) continue;
      context.beginPath();
      context.setLineDash(s.dash);
      context.lineWidth = s.width || 1.5;
      context.strokeStyle = s.colour;
      s.points.forEach(([x, y], i) => {
        const px = pad + x / maxX * (w - 2 * pad);
        const py = h - pad - Math.min(y, maxY) / maxY * (h - 2 * pad);
        i ? context.lineTo(px, py) : context.moveTo(px, py);
      });
      context.stroke();
    }
    context.setLineDash([]);
  }
}
