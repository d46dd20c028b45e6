// createGroupEngine: wraps shared/member for the page. Placeholder until shared/member lands.

import type { GroupEngine } from './group.js';
import type { StringTransport } from '../session/signaling.js';
import { JoinError } from '../app/errors.js';

export interface EngineOptions {
  room: string;
  name: string;
  token?: string;
}

export function createGroupEngine(transport: StringTransport, _o: EngineOptions): GroupEngine {
  transport.close();
  throw new JoinError('unavailable', 'The group engine (shared/member) is not available in this build.');
}
