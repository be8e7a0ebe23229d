/** The run domain: the state machine, the record, the store port, the cursor codec, recovery. Knows no adapter. */
export * from './status';
export * from './record';
export * from './store';
export * from './cursor';
export * from './recovery';
export * from './workers';
