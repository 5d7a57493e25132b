/**
 * `@hearth/supervisor/control`: the control socket's client side alone, for the CLI's verbs that
 * talk to a running supervisor (`status`, `reload`, `down`, ...). Importing it loads no
 * supervisor, no logger and no config code, so each such call starts fast.
 */
export { ControlError, NotRunningError, controlRequest, socketIsLive } from './control-client.js';
export type { RequestOptions } from './control-client.js';
export { CONTROL_VERBS, LOCK_NAME, SOCKET_NAME, which } from './control-protocol.js';
/** The service graph's `dependentsOf` (no imports of its own), for clients that read `requires` from status rows. */
export { dependentsOf } from './graph.js';
export type { Dependent, GraphNode } from './graph.js';
/** The levels `log.level` and `--log-level` take (`config.ts` is light: types and this list). */
export { LOG_LEVELS } from './config.js';
export type { ConfigResult, ControlReply, ControlRequest, ControlVerb, ReloadResult, RequirementState, RestartAllResult, ServiceResult, SettingsResult, StartedWith, StoppedWith } from './control-protocol.js';
export type { ServiceState, ServiceStatus } from './status.js';
