/** npm run schema:emit: write schema/schema.graphql from the resolvers. */
import * as fs from 'fs';
import { MemoryEventBus } from '../events/memory-event-bus';
import { SCHEMA_FILE, buildAppSchema, printAppSchema } from '../resolvers/schema';

fs.writeFileSync(SCHEMA_FILE, printAppSchema(buildAppSchema(new MemoryEventBus())));
console.log(`wrote ${SCHEMA_FILE}`);
