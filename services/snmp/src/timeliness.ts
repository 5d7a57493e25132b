/**
 * RFC 3414 3.2 for an authoritative engine, which net-snmp's agent does not do: an authenticated
 * request must name this engine (step 3, else `unknownEngineID`) and fall within its time window
 * (step 7: the same snmpEngineBoots, which must not be at its last value, and an
 * snmpEngineTime within 150 seconds of ours, else `notInTimeWindow`). So a captured request
 * cannot be replayed after 150 seconds or after the agent restarted.
 *
 * The reports: `unknownEngineID` goes unauthenticated (as in discovery, it tells nothing but our
 * engine ID); `notInTimeWindow` is authenticated with the requesting user's key (authNoPriv, RFC
 * 3414 3.2 step 7b), so the client can trust the boots and time it carries and resynchronise.
 */
import * as snmp from 'net-snmp';

/** The time window, in seconds either side of the engine's time. */
export const TIME_WINDOW_S = 150;
const MAX_BOOTS = 2 ** 31 - 1;
const USM_STATS = '1.3.6.1.6.3.15.1.1';
const REPORT_OID = { notInTimeWindow: `${USM_STATS}.2.0`, unknownEngineIds: `${USM_STATS}.4.0` } as const;

export type Timeliness = 'timely' | keyof typeof REPORT_OID;

/** Whether an authenticated SNMPv3 request is for this engine and within its time window. */
export function timeliness(request: snmp.Message, engine: snmp.Engine): Timeliness {
  const sp = request.msgSecurityParameters;
  if (request.version !== snmp.Version3 || !sp || !request.hasAuthentication()) return 'timely';
  if (!Buffer.from(sp.msgAuthoritativeEngineID).equals(engine.engineID)) return 'unknownEngineIds';
  if (engine.engineBoots >= MAX_BOOTS || sp.msgAuthoritativeEngineBoots !== engine.engineBoots) return 'notInTimeWindow';
  if (Math.abs(sp.msgAuthoritativeEngineTime - engine.engineTime) > TIME_WINDOW_S) return 'notInTimeWindow';
  return 'timely';
}

/** The report for an untimely request; `count` is the usmStats counter's value after this one. */
export function untimelyReport(request: snmp.Message, engine: snmp.Engine, context: string, why: Exclude<Timeliness, 'timely'>, count: number): snmp.Message {
  const report = request.createReportResponseMessage(engine, context, why === 'notInTimeWindow' ? '2' : '4');
  report.pdu.varbinds = [{ oid: REPORT_OID[why], type: snmp.ObjectType.Counter, value: count % 2 ** 32 }];
  report.setReportable(false);
  if (why === 'notInTimeWindow' && request.user) {
    report.user = { ...request.user, level: snmp.SecurityLevel.authNoPriv };
    report.msgSecurityParameters!.msgUserName = request.user.name;
    report.setAuthentication(true);
  }
  return report;
}
