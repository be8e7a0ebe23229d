// The test environment for every jest project.
//
// 1. Speed. jest-environment-node runs each test file in a vm context whose global object is
//    "contextified": Node answers every global lookup (Math, Float32Array, ...) through an
//    interceptor that V8 cannot inline, so a hot loop such as `Math.log` in Rng.normals runs
//    ~50x slower under jest than under node (building a 256 px DDPM UNet with random weights:
//    164 s against 5 s). Node 20.18+ can create a context whose global is an ordinary object
//    (vm.constants.DONT_CONTEXTIFY); jest's node environment creates its context with
//    vm.createContext(), so we hand it that kind of context.
// 2. Realms. onnxruntime-node checks tensor data with `instanceof Float32Array` against Node's
//    own realm; share Node's typed-array constructors with the test context.
// 3. Timeouts. Each jest project sets its per-test timeout as testEnvironmentOptions
//    { egsdeTestTimeoutMs } (jest's own testTimeout is global, not per project).
const vm = require('vm');
const { TestEnvironment } = require('jest-environment-node');

class EgsdeTestEnvironment extends TestEnvironment {
  constructor(config, context) {
    const createContext = vm.createContext;
    if (vm.constants && vm.constants.DONT_CONTEXTIFY) {
      vm.createContext = (sandbox, options) => createContext(sandbox ?? vm.constants.DONT_CONTEXTIFY, options);
    }
    try {
      super(config, context);
    } finally {
      vm.createContext = createContext;
    }
    for (const name of ['Float32Array', 'Float64Array', 'Int8Array', 'Uint8Array', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array', 'ArrayBuffer']) {
      this.global[name] = globalThis[name];
    }
    const timeout = config.projectConfig.testEnvironmentOptions.egsdeTestTimeoutMs;
    delete this.global.egsdeTestTimeoutMs;
    // what jest.setTimeout() sets
    if (timeout) this.global[Symbol.for('TEST_TIMEOUT_SYMBOL')] = timeout;
  }
}

module.exports = EgsdeTestEnvironment;
