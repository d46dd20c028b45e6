// shared/crypto public entry: getCipherSuite(id, backend?), the default-backend switch, the
// labeled helpers (RFC 9420 §5) and the types. Suites are built once per (backend, id) and cached.

import { noblePrimitives } from './noble.js';
import { buildCipherSuite } from './suite.js';
import { CryptoError, isSuiteId, type CipherSuite, type CryptoBackend, type CryptoProvider, type SuiteId } from './types.js';
import { webcryptoPrimitives } from './webcrypto.js';

export * from './types.js';
export * from './labeled.js';

const nobleCache = new Map<SuiteId, CipherSuite>();
const webcryptoCache = new Map<SuiteId, CipherSuite>();

/** The portable backend as a provider object (same suites as the 'noble' string). */
export const nobleProvider: CryptoProvider = Object.freeze({
  name: 'noble',
  getCipherSuite(id: SuiteId): CipherSuite {
    checkId(id);
    let s = nobleCache.get(id);
    if (s === undefined) {
      s = buildCipherSuite(id, noblePrimitives(id));
      nobleCache.set(id, s);
    }
    return s;
  },
});

/** WebCrypto where the algorithm exists (globalThis.crypto.subtle), noble otherwise. */
export const webcryptoProvider: CryptoProvider = Object.freeze({
  name: 'webcrypto',
  getCipherSuite(id: SuiteId): CipherSuite {
    checkId(id);
    let s = webcryptoCache.get(id);
    if (s === undefined) {
      s = buildCipherSuite(id, webcryptoPrimitives(id));
      webcryptoCache.set(id, s);
    }
    return s;
  },
});

function checkId(id: unknown): asserts id is SuiteId {
  if (!isSuiteId(id)) throw new CryptoError('unsupported-suite', `cipher suite ${String(id)} is not one of RFC 9420 §17.1 suites 1..7`);
}

let defaultBackend: CryptoBackend = 'noble';

/** Sets the backend getCipherSuite uses when none is given (e.g. the node:crypto provider in Node). */
export function setDefaultCryptoBackend(backend: CryptoBackend): void {
  resolveProvider(backend);
  defaultBackend = backend;
}

export function getDefaultCryptoBackend(): CryptoBackend {
  return defaultBackend;
}

function resolveProvider(backend: CryptoBackend): CryptoProvider {
  if (backend === 'noble') return nobleProvider;
  if (backend === 'webcrypto') return webcryptoProvider;
  if (typeof backend === 'object' && backend !== null && typeof backend.getCipherSuite === 'function') return backend;
  throw new TypeError(`backend must be 'noble', 'webcrypto' or a CryptoProvider, got ${String(backend)}`);
}

/** The CipherSuite for an RFC 9420 §17.1 suite id on a backend (default: see setDefaultCryptoBackend). */
export function getCipherSuite(id: SuiteId, backend: CryptoBackend = defaultBackend): CipherSuite {
  checkId(id);
  return resolveProvider(backend).getCipherSuite(id);
}
