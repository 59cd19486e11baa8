#!/usr/bin/env node
// ONNX Runtime (onnxruntime-node, CPU EP) side of bench/compare.
//
//   node bench/compare_ort.js MODEL.onnx --shape 1x3x224x224 --threads 2 --iters 20 [--warmup 3]
//
// Prints one JSON line: {"engine":"ort", ms_median, ms_min, ...}.
'use strict';

const path = require('path');

function parseArgs(argv) {
  const a = { model: null, shape: '1x3x224x224', threads: 1, iters: 20, warmup: 3, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`missing value for ${k}`);
      return argv[++i];
    };
    if (k === '--shape') a.shape = v();
    else if (k === '--threads') a.threads = parseInt(v(), 10);
    else if (k === '--iters') a.iters = parseInt(v(), 10);
    else if (k === '--warmup') a.warmup = parseInt(v(), 10);
    else if (k === '--verbose') a.verbose = true;
    else if (!k.startsWith('--') && !a.model) a.model = k;
    else throw new Error(`unknown argument ${k}`);
  }
  if (!a.model) throw new Error('usage: compare_ort.js MODEL.onnx [--shape S] [--threads T] [--iters N]');
  return a;
}

function median(xs) {
  const s = [...xs].sort((p, q) => p - q);
  const n = s.length;
  return n % 2 ? s[(n - 1) >> 1] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  let ort;
  try {
    ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));
  } catch (e) {
    console.log(JSON.stringify({ engine: 'ort', error: `onnxruntime-node not installed (cd bench && npm install --ignore-scripts): ${e.message}` }));
    process.exit(1);
  }
  const opts = {
    executionProviders: ['cpu'],
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    enableCpuMemArena: true,
    enableMemPattern: true,
    logSeverityLevel: a.verbose ? 0 : 3,
  };
  const tload = process.hrtime.bigint();
  const sess = await ort.InferenceSession.create(a.model, opts);
  const loadMs = Number(process.hrtime.bigint() - tload) / 1e6;

  const dims = a.shape.toLowerCase().split('x').map((s) => parseInt(s, 10));
  const n = dims.reduce((p, q) => p * q, 1);
  const data = new Float32Array(n);
  let seed = 12345;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    data[i] = (seed / 4294967296) * 2 - 1;
  }
  const feeds = { [sess.inputNames[0]]: new ort.Tensor('float32', data, dims) };

  for (let i = 0; i < a.warmup; i++) await sess.run(feeds);
  const ts = [];
  for (let i = 0; i < a.iters; i++) {
    const t0 = process.hrtime.bigint();
    await sess.run(feeds);
    ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  console.log(JSON.stringify({
    engine: 'ort',
    model: a.model,
    shape: a.shape,
    threads: a.threads,
    iters: a.iters,
    ms_median: median(ts),
    ms_min: Math.min(...ts),
    load_ms: loadMs,
    ort: ort.env.versions ? ort.env.versions.node || ort.env.versions.common : undefined,
  }));
  if (sess.release) await sess.release();
}

main().catch((e) => {
  console.log(JSON.stringify({ engine: 'ort', error: String(e && e.message ? e.message : e) }));
  process.exit(1);
});
