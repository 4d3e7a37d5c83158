// The ONNX side of `lstm verify --against model.onnx`: the file run by onnxruntime (an
// independent runtime: Microsoft's, from the npm registry, tests/onnx/package.json).
//
//   node scripts/onnx_verify.js --model model.onnx --x x.npy --lengths lengths.npy --tokens 0|1 --out DIR
//
// x.npy and lengths.npy are float32 .npy files as lstm writes them; x goes in as float32, or as
// int64 token ids with --tokens 1 (a model that starts with an Embedding); lengths goes in as the
// int32 input "lengths" when the graph has one. Writes DIR/output.npy (float32) and DIR/framework.txt.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

function readNpy(file) {
  const b = fs.readFileSync(file);
  if (b.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = b[6];
  const headerLength = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = b.toString('latin1', start, start + headerLength);
  if (!header.includes("'<f4'")) throw new Error(`${file}: not little-endian float32`);
  const shape = (header.match(/'shape': \(([^)]*)\)/)[1].match(/\d+/g) || []).map(Number);
  const offset = start + headerLength;
  const count = shape.reduce((a, d) => a * d, 1);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = b.readFloatLE(offset + 4 * i);
  return { shape, data };
}

function writeNpy(file, shape, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const out = Buffer.alloc(10 + header.length + 4 * data.length);
  out.write('\x93NUMPY', 0, 'latin1');
  out[6] = 1; out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  for (let i = 0; i < data.length; i++) out.writeFloatLE(data[i], 10 + header.length + 4 * i);
  fs.writeFileSync(file, out);
}

(async () => {
  const args = {};
  for (let i = 2; i + 1 < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
  const session = await ort.InferenceSession.create(args.model);
  const x = readNpy(args.x);
  const feeds = {};
  // the data input: lstm's files call it x; other exporters' files name it as their users did
  const data = session.inputNames.find((n) => n !== 'lengths');
  feeds[data] = args.tokens === '1'
    ? new ort.Tensor('int64', BigInt64Array.from(x.data, (v) => BigInt(Math.round(v))), x.shape)
    : new ort.Tensor('float32', x.data, x.shape);
  if (session.inputNames.includes('lengths')) {
    feeds.lengths = new ort.Tensor('int32', Int32Array.from(readNpy(args.lengths).data), [x.shape[0]]);
  }
  const result = await session.run(feeds);
  const y = result[session.outputNames[0]];
  writeNpy(path.join(args.out, 'output.npy'), y.dims, y.data);
  const version = require('onnxruntime-node/package.json').version;
  fs.writeFileSync(path.join(args.out, 'framework.txt'), `onnxruntime ${version} (Node.js ${process.version})\n`);
})().catch((e) => {
  process.stderr.write(`onnx_verify: ${e.message || e}\n`);
  process.exit(1);
});
