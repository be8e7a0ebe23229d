import { eventBusConformance } from './conformance';
import { MemoryEventBus } from './memory-event-bus';

eventBusConformance('MemoryEventBus', async () => new MemoryEventBus());
