/**
 * Shortened SLA time for tests against real probes: a "minute" lasts two seconds, probes run
 * eight times a minute with a 1 s timeout, evaluation runs every 0.4 s two seconds behind real
 * time, incidents close after three good minutes.
 */
export const SHORT_SLA_TIME = {
  SLA_MINUTE_MS: '2000',
  SLA_PROBE_INTERVAL_MS: '250',
  SLA_PROBE_TIMEOUT_MS: '1000',
  SLA_EVALUATION_INTERVAL_MS: '400',
  SLA_SETTLE_DELAY_MS: '2000',
  SLA_INCIDENT_CLOSE_GOOD_MINUTES: '3',
};
