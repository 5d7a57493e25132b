export * from './protocol.js';
export * from './service.js';
export * from './bound-handle.js';
export * from './handler-table.js';
