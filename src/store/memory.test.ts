import { MemoryStorage } from './memory.ts';
import { storageSuite } from './storage.cases.ts';

storageSuite('memory', async () => new MemoryStorage());
