#!/usr/bin/env node
// Converts nsfwjs's bundled model (model.min.js and its *.min.js weight
// shards: UMD wrappers around the layers-model JSON and base64 strings) into
// a standard TensorFlow.js layers model folder: model.json plus binary shards.
//
//   node nsfwjs-to-tfjs.js SRC_DIR OUT_DIR
//
// The wrappers are evaluated in an empty VM context (no require, no fs), so
// the package's code cannot touch anything. Each output file is written to a
// temporary name and renamed, shards before model.json: a reader that sees
// model.json sees complete shards, and concurrent conversions are harmless.
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');

const BYTES_PER_VALUE = {float32: 4, int32: 4, uint16: 2, float16: 2, uint8: 1};

function fail(message) {
  process.stderr.write(`nsfwjs-to-tfjs: ${message}\n`);
  process.exit(1);
}

// Runs a UMD bundle and returns what it exports.
function evaluateBundle(file) {
  let source;
  try {
    source = fs.readFileSync(file, 'utf8');
  } catch (e) {
    fail(`cannot read ${file}: ${e.message}`);
  }
  const module = {exports: {}};
  try {
    vm.runInNewContext(source, {module, exports: module.exports}, {filename: file, timeout: 60000});
  } catch (e) {
    fail(`${file} is not a loadable nsfwjs bundle: ${e.message}`);
  }
  return module.exports;
}

function writeAtomically(file, data) {
  const temp = `${file}.tmp-${process.pid}`;
  try {
    fs.writeFileSync(temp, data);
    fs.renameSync(temp, file);
  } catch (e) {
    try { fs.unlinkSync(temp); } catch (_) { /* never created */ }
    fail(`cannot write ${file}: ${e.message}`);
  }
}

function expectedBytes(weights) {
  let total = 0;
  for (const w of weights) {
    const stored = w.quantization ? w.quantization.dtype : w.dtype;
    if (!(stored in BYTES_PER_VALUE)) fail(`weight ${w.name}: unsupported dtype ${stored}`);
    total += w.shape.reduce((a, b) => a * b, 1) * BYTES_PER_VALUE[stored];
  }
  return total;
}

function main() {
  if (process.argv.length !== 4) fail('usage: node nsfwjs-to-tfjs.js SRC_DIR OUT_DIR');
  const [src, out] = process.argv.slice(2);
  const model = evaluateBundle(path.join(src, 'model.min.js'));
  if (!model || typeof model.modelTopology !== 'object' || !Array.isArray(model.weightsManifest)) {
    fail(`${path.join(src, 'model.min.js')} does not export {modelTopology, weightsManifest}`);
  }
  try {
    fs.mkdirSync(out, {recursive: true});
  } catch (e) {
    fail(`cannot create ${out}: ${e.message}`);
  }
  const manifest = [];
  for (const group of model.weightsManifest) {
    // nsfwjs names shard "P" in the manifest and ships it as "P.min.js".
    const buffers = group.paths.map((p) => {
      const file = path.join(src, `${p}.min.js`);
      const base64 = evaluateBundle(file);
      if (typeof base64 !== 'string') fail(`${file} does not export a base64 string`);
      return Buffer.from(base64, 'base64');
    });
    const have = buffers.reduce((n, b) => n + b.length, 0);
    const want = expectedBytes(group.weights);
    if (have !== want) {
      fail(`shards ${group.paths.join(', ')} hold ${have} bytes, the manifest needs ${want}`);
    }
    const paths = group.paths.map((p, i) => {
      const name = `${path.basename(p)}.bin`;
      writeAtomically(path.join(out, name), buffers[i]);
      return name;
    });
    manifest.push({paths, weights: group.weights});
  }
  const json = {
    format: 'layers-model',
    generatedBy: 'nsfwjs',
    convertedBy: 'orchard trainer/tools/nsfwjs-to-tfjs.js',
    modelTopology: model.modelTopology,
    weightsManifest: manifest,
  };
  writeAtomically(path.join(out, 'model.json'), JSON.stringify(json));
}

main();
