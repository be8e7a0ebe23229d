// onnxruntime-node checks tensor data with `instanceof Float32Array` against Node's own realm;
// jest runs tests in a separate VM context with its own typed-array constructors. Share Node's.
const { TestEnvironment } = require('jest-environment-node');

class OnnxFriendlyEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of ['Float32Array', 'Float64Array', 'Int8Array', 'Uint8Array', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array', 'ArrayBuffer']) {
      this.global[name] = globalThis[name];
    }
  }
}

module.exports = OnnxFriendlyEnvironment;
