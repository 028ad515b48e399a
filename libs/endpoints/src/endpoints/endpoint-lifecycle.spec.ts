import {
  allowedRequests,
  ENDPOINT_OBSERVATIONS,
  ENDPOINT_REQUESTS,
  ENDPOINT_STATUSES,
  ENDPOINT_TRANSITIONS,
  endpointTransition,
} from './endpoint-lifecycle';

describe('endpoint lifecycle (one transition table)', () => {
  it('follows the issue’s main paths', () => {
    const walk = (from: string, ...events: string[]) =>
      events.reduce<string | undefined>(
        (status, event) => status && endpointTransition(status as never, event as never),
        from,
      );
    expect(walk('pending', 'provision', 'converge')).toBe('running');
    expect(walk('running', 'update', 'converge')).toBe('running');
    expect(walk('running', 'degrade', 'converge')).toBe('running');
    expect(walk('running', 'stop', 'stopped', 'start', 'converge')).toBe('running');
    expect(walk('running', 'delete', 'deleted')).toBe('deleted');
    expect(walk('provisioning', 'fail', 'start')).toBe('provisioning');
  });

  it('lets nothing leave deleted, and nothing but deletion out of deleting', () => {
    expect(allowedRequests('deleted')).toEqual([]);
    expect(allowedRequests('deleting')).toEqual([]);
    expect(Object.keys(ENDPOINT_TRANSITIONS.deleted)).toEqual([]);
    expect(Object.keys(ENDPOINT_TRANSITIONS.deleting)).toEqual(['deleted']);
  });

  it('refuses starting what runs and stopping what is stopped', () => {
    for (const status of ['pending', 'provisioning', 'running', 'updating', 'degraded'] as const) {
      expect(endpointTransition(status, 'start')).toBeUndefined();
    }
    expect(endpointTransition('stopped', 'stop')).toBeUndefined();
    expect(endpointTransition('stopping', 'stop')).toBeUndefined();
  });

  it('names only known statuses and events', () => {
    const events = new Set<string>([...ENDPOINT_REQUESTS, ...ENDPOINT_OBSERVATIONS]);
    for (const status of ENDPOINT_STATUSES) {
      for (const [event, to] of Object.entries(ENDPOINT_TRANSITIONS[status])) {
        expect(events.has(event)).toBe(true);
        expect(ENDPOINT_STATUSES).toContain(to);
      }
    }
  });

  it('lets every status that is not final be deleted', () => {
    for (const status of ENDPOINT_STATUSES.filter((s) => s !== 'deleted' && s !== 'deleting')) {
      expect(endpointTransition(status, 'delete')).toBe('deleting');
    }
  });
});
