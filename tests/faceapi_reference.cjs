// Runs the real face-api.js (@vladmandic/face-api, tfjs CPU backend) on patches written by
// tests/test_faceapi.py and writes what it computes, so the Python port can be compared with it.
// usage: node faceapi_reference.cjs NODE_MODULES_PARENT MODEL_DIR JOB_DIR
//   MODEL_DIR holds face_expression_model* and age_gender_model* (bin + weights manifest);
//   JOB_DIR/patches.json lists {shape: [h, w, 3], file} raw little-endian float32 patches.
// writes JOB_DIR/out.json ({expression, age, gender}) and JOB_DIR/batch.f32 (toBatchTensor(112, true)).
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const [installDir, modelDir, jobDir] = process.argv.slice(2);
const load = createRequire(path.join(path.resolve(installDir), 'package.json'));
const faceapi = load('@vladmandic/face-api/dist/face-api.node-wasm.js');
const { tf } = faceapi;

function readPatches() {
  const jobs = JSON.parse(fs.readFileSync(path.join(jobDir, 'patches.json'), 'utf8'));
  return jobs.map(({ shape, file }) => {
    const bytes = fs.readFileSync(path.join(jobDir, file));
    const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    return tf.tensor3d(values, shape, 'float32');
  });
}

async function main() {
  await tf.setBackend('cpu');
  await tf.ready();
  await faceapi.nets.faceExpressionNet.loadFromDisk(modelDir);
  await faceapi.nets.ageGenderNet.loadFromDisk(modelDir);
  const patches = readPatches();
  const batch = (await faceapi.toNetInput(patches)).toBatchTensor(112, true);
  fs.writeFileSync(path.join(jobDir, 'batch.f32'), Buffer.from((await batch.data()).buffer));
  const expression = await faceapi.nets.faceExpressionNet.forward(patches);
  const { age, gender } = await faceapi.nets.ageGenderNet.forward(patches);
  const out = {
    backend: tf.getBackend(),
    version: faceapi.version,
    expression: await expression.array(),
    age: Array.from(await age.data()),
    gender: await gender.array(),
  };
  fs.writeFileSync(path.join(jobDir, 'out.json'), JSON.stringify(out));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
