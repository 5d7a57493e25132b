export { loadTlsMaterial, generatedTlsPaths, suiteNames } from './material.js';
export type { TlsMaterial, TlsMaterialOptions } from './material.js';
export { createTlsContextProvider } from './provider.js';
export type { TlsContextProvider, TlsContextProviderOptions } from './provider.js';
export { TlsMaterialError } from './errors.js';
export { answerPlainHttp } from './plain-http.js';
export type { PlainHttpOptions } from './plain-http.js';
export { answerHalfClosed } from './half-close.js';
