// node:crypto backend for shared/crypto (work in progress: not implemented yet).
import { CryptoError, type CipherSuite, type CryptoProvider, type SuiteId } from '../../shared/crypto/index.js';

export const nodeCryptoProvider: CryptoProvider = {
  name: 'node',
  getCipherSuite(id: SuiteId): CipherSuite {
    throw new CryptoError('unsupported-algorithm', `node backend not implemented yet (suite ${id})`);
  },
};
