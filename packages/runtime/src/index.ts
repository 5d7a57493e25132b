export * from './protocol.js';
export * from './service.js';
