/** The supervisor's state machines as pure functions: the instance lifecycle, a unit's two machines and why a stopped unit is down. */
import { describe, expect, it } from 'vitest';
import { IllegalTransitionError, isStandbyState, nextInstanceState } from '../../dist/instance-state.js';
import type { InstanceState } from '../../dist/instance-state.js';
import { IllegalMoveError, checkRestartMove, checkUnitMove, currentOf, describeEnd, describeFailure, describeStopCause, isWanted, publicState } from '../../dist/unit-state.js';
import type { RestartKind, UnitKind } from '../../dist/unit-state.js';

describe('instance lifecycle', () => {
  const loading: InstanceState = { kind: 'loading' };

  it('a standby stands by, is promoted (active since then) and stops', () => {
    const standingBy = nextInstanceState(loading, { type: 'standing-by' });
    expect(standingBy).toEqual({ kind: 'standing-by' });
    expect(isStandbyState(standingBy)).toBe(true);
    const active = nextInstanceState(standingBy, { type: 'promote', at: 1234 });
    expect(active).toEqual({ kind: 'active', since: 1234 });
    expect(isStandbyState(active)).toBe(false);
    expect(nextInstanceState(active, { type: 'stop' })).toEqual({ kind: 'stopping', since: 1234 });
  });

  it('a standby may be promoted before it stood by; its late standing-by changes nothing', () => {
    const active = nextInstanceState(loading, { type: 'promote', at: 5 });
    expect(nextInstanceState(active, { type: 'standing-by' })).toBe(active);
    const stopping = nextInstanceState(active, { type: 'stop' });
    expect(nextInstanceState(stopping, { type: 'standing-by' })).toBe(stopping);
  });

  it('stop is idempotent and keeps when it began serving; a stopped standby never served', () => {
    const spawned: InstanceState = { kind: 'active', since: undefined };
    const stopping = nextInstanceState(spawned, { type: 'stop' });
    expect(nextInstanceState(stopping, { type: 'stop' })).toEqual({ kind: 'stopping', since: undefined });
    expect(nextInstanceState(loading, { type: 'stop' })).toEqual({ kind: 'stopping', since: undefined });
  });

  it('only a standby can be promoted: the error names the state', () => {
    const active: InstanceState = { kind: 'active', since: undefined };
    expect(() => nextInstanceState(active, { type: 'promote', at: 1 })).toThrow(IllegalTransitionError);
    expect(() => nextInstanceState(active, { type: 'promote', at: 1 })).toThrow('instance: cannot promote in state active');
    expect(() => nextInstanceState({ kind: 'stopping', since: 3 }, { type: 'promote', at: 1 })).toThrow('in state stopping');
  });
});

describe('unit lifecycle', () => {
  const legal: [UnitKind, UnitKind][] = [
    ['stopped', 'starting'],
    ['starting', 'starting'],
    ['starting', 'running'],
    ['starting', 'not-ready'],
    ['not-ready', 'backoff'],
    ['running', 'backoff'],
    ['backoff', 'starting'],
    ['running', 'done'],
    ['running', 'failed'],
    ['failed', 'starting'],
    ['failed', 'failed'],
    ['running', 'stopping'],
    ['stopping', 'stopped'],
    ['stopped', 'stopping'],
    ['running', 'starting'],
    ['backoff', 'running'],
  ];
  const illegal: [UnitKind, UnitKind][] = [
    ['stopped', 'running'],
    ['stopping', 'running'],
    ['stopping', 'starting'],
    ['failed', 'stopped'],
    ['not-ready', 'running'],
    ['backoff', 'not-ready'],
    ['stopped', 'backoff'],
  ];

  it.each(legal)('%s -> %s is a move', (from, to) => {
    expect(() => checkUnitMove('svc', from, to)).not.toThrow();
  });

  it.each(illegal)('%s -> %s is refused, naming the service and both states', (from, to) => {
    expect(() => checkUnitMove('svc', from, to)).toThrow(IllegalMoveError);
    expect(() => checkUnitMove('svc', from, to)).toThrow(`service svc: no move from ${from} to ${to}`);
  });

  it('status shows not-ready as starting and done as stopped; the operator wants it up unless stopped or stopping', () => {
    expect(publicState('not-ready')).toBe('starting');
    expect(publicState('done')).toBe('stopped');
    expect(publicState('backoff')).toBe('backoff');
    expect(isWanted('done')).toBe(true);
    expect(isWanted('failed')).toBe(true);
    expect(isWanted('stopped')).toBe(false);
    expect(isWanted('stopping')).toBe(false);
  });

  it('the current instance lives inside the states that have one', () => {
    expect(currentOf({ kind: 'running', instance: 'i', since: 0 })).toBe('i');
    expect(currentOf({ kind: 'starting', instance: undefined })).toBeUndefined();
    expect(currentOf<string>({ kind: 'backoff' })).toBeUndefined();
    expect(currentOf<string>({ kind: 'failed', reason: 'x' })).toBeUndefined();
  });
});

describe('unit restart machine', () => {
  it.each<[RestartKind, RestartKind]>([
    ['idle', 'cold'],
    ['cold', 'idle'],
    ['idle', 'overlapping'],
    ['overlapping', 'overlapping'],
    ['overlapping', 'draining'],
    ['overlapping', 'idle'],
    ['draining', 'idle'],
  ])('%s -> %s is a move', (from, to) => {
    expect(() => checkRestartMove('svc', from, to)).not.toThrow();
  });

  it.each<[RestartKind, RestartKind]>([
    ['idle', 'draining'],
    ['cold', 'overlapping'],
    ['draining', 'overlapping'],
    ['idle', 'idle'],
  ])('%s -> %s is refused', (from, to) => {
    expect(() => checkRestartMove('svc', from, to)).toThrow(`service svc restart: no move from ${from} to ${to}`);
  });
});

describe('why a stopped unit is down', () => {
  it('is its status reason, naming the requirement and its state or the way to the service stopped', () => {
    expect(describeStopCause({ kind: 'held-back', requires: 'broken', state: 'failed' })).toBe('not started: it requires broken, which is failed');
    expect(describeStopCause({ kind: 'held-back', requires: 'db', state: 'exited' })).toBe('not started: it requires db, which exited');
    expect(describeStopCause({ kind: 'stopped-with', service: 'db', through: ['api', 'db'] })).toBe('stopped with db: it requires api, which requires db');
    expect(describeStopCause({ kind: 'requirement-down', requires: 'api', state: 'stopped' })).toBe('stopped by a reload: it requires api, which is stopped');
    expect(describeStopCause({ kind: 'requirement-down', requires: 'db', state: 'exited' })).toBe('stopped by a reload: it requires db, which exited');
  });
});

describe('why an ended unit is stopped', () => {
  it('is its last exit and the restart policy that does not start it again', () => {
    expect(describeEnd({ code: 0, signal: null, at: 0, leftovers: false }, 'never')).toBe('exited (exit code 0); restart: never does not start it again');
    expect(describeEnd({ code: 0, signal: null, at: 0, leftovers: false }, 'on-failure')).toBe('exited (exit code 0); restart: on-failure does not start it again');
  });
});

describe('why a failed unit is failed', () => {
  it('is why it failed, and first why a reload kept it failed, if one did', () => {
    expect(describeFailure('configuration error (exit 78): not restarted', undefined)).toBe('configuration error (exit 78): not restarted');
    expect(describeFailure('configuration error (exit 78): not restarted', { requires: 'api', state: 'failed' })).toBe(
      'kept failed by a reload: it requires api, which is failed (its failure: configuration error (exit 78): not restarted)',
    );
    expect(describeFailure('exited with code 1: not restarted', { requires: 'db', state: 'exited' })).toBe('kept failed by a reload: it requires db, which exited (its failure: exited with code 1: not restarted)');
  });
});
