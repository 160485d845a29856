#!/usr/bin/env node
// Reference outputs of a TF.js layers model, computed by @tensorflow/tfjs
// itself (pure-JS CPU backend), to check the native import against.
//
//   node tfjs-reference.js MODEL_DIR OUT_DIR LAYER [LAYER ...]
//
// Feeds two deterministic 224x224 RGB images in [0, 1] (a smooth pattern and
// a seeded random texture) and writes to OUT_DIR:
//   input.f32          the batch, NHWC float32 little-endian
//   <LAYER>.f32        each named layer's output, NHWC float32 little-endian
//   reference.json     {"input": {"file", "shape"}, "outputs": [{"layer", "file", "shape"}]}
// Needs node_modules/@tensorflow/tfjs (npm ci at the repository root).
'use strict';
const fs = require('fs');
const path = require('path');

function fail(message) {
  process.stderr.write(`tfjs-reference: ${message}\n`);
  process.exit(1);
}

let tf;
try {
  tf = require('@tensorflow/tfjs');
} catch (e) {
  fail(`cannot load @tensorflow/tfjs (${e.message}); run \`npm ci --ignore-scripts\` ` +
       `at the repository root`);
}

const SIZE = 224;

// The same images on every run and machine: no Math.random.
function makeInput() {
  const data = new Float32Array(2 * SIZE * SIZE * 3);
  let seed = 12345;
  const next = () => {  // xorshift32
    seed ^= seed << 13; seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5; seed >>>= 0;
    return seed / 4294967296;
  };
  // A texture of 8x8 random patches plus per-pixel noise, quantised like an 8-bit image.
  const patches = Array.from({length: (SIZE / 8) * (SIZE / 8) * 3}, next);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      for (let c = 0; c < 3; c++) {
        const smooth = 0.5 + 0.5 * Math.sin(0.045 * x * (c + 1) + 0.03 * y + c) *
                                    Math.cos(0.02 * (x - y) + 0.5 * c);
        data[(y * SIZE + x) * 3 + c] = smooth;
        const patch = patches[((y >> 3) * (SIZE / 8) + (x >> 3)) * 3 + c];
        const v = Math.min(1, Math.max(0, 0.7 * patch + 0.3 * next()));
        data[SIZE * SIZE * 3 + (y * SIZE + x) * 3 + c] = Math.round(v * 255) / 255;
      }
    }
  }
  return data;
}

async function main() {
  if (process.argv.length < 5) fail('usage: node tfjs-reference.js MODEL_DIR OUT_DIR LAYER [LAYER ...]');
  const [modelDir, outDir, ...layers] = process.argv.slice(2);
  const json = JSON.parse(fs.readFileSync(path.join(modelDir, 'model.json'), 'utf8'));
  const weightSpecs = [];
  const shards = [];
  for (const group of json.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) shards.push(fs.readFileSync(path.join(modelDir, p)));
  }
  const bytes = Buffer.concat(shards);
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
  await tf.setBackend('cpu');
  const model = await tf.loadLayersModel(
      tf.io.fromMemory({modelTopology: json.modelTopology, weightSpecs, weightData}));
  const outputs = layers.map((name) => model.getLayer(name).output);
  const truncated = tf.model({inputs: model.inputs, outputs});
  const input = makeInput();
  let results = truncated.predict(tf.tensor4d(input, [2, SIZE, SIZE, 3]));
  if (!Array.isArray(results)) results = [results];
  fs.mkdirSync(outDir, {recursive: true});
  fs.writeFileSync(path.join(outDir, 'input.f32'), Buffer.from(input.buffer));
  const index = {input: {file: 'input.f32', shape: [2, SIZE, SIZE, 3]}, outputs: []};
  for (let i = 0; i < layers.length; i++) {
    const values = results[i].dataSync();
    const file = `${layers[i]}.f32`;
    fs.writeFileSync(path.join(outDir, file), Buffer.from(values.buffer, values.byteOffset, values.byteLength));
    index.outputs.push({layer: layers[i], file, shape: results[i].shape});
  }
  fs.writeFileSync(path.join(outDir, 'reference.json'), JSON.stringify(index));
}

main().catch((e) => fail(e.stack || String(e)));
