// The signaling protocol, defined once: messages, validation, error and close codes.
export * from './constants.js';
export type * from './messages.js';
export { REQUEST_TYPES } from './messages.js';
export * from './validate.js';
