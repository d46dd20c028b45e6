// Placeholder until the WebCrypto backend lands: noble primitives under the 'webcrypto' name.
import { noblePrimitives } from './noble.js';
import type { SuitePrimitives } from './primitives.js';
import type { SuiteId } from './types.js';

export function webcryptoPrimitives(id: SuiteId): SuitePrimitives {
  return { ...noblePrimitives(id), backend: 'webcrypto' };
}
