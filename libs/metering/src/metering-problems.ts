import { defineProblem } from '@app/core';

export const QuotaStateUnavailable = defineProblem({
  code: 'quota_state_unavailable',
  status: 503,
  title: 'Quota counters unavailable',
  description:
    'The quota counters (Redis) or the usage ledger (PostgreSQL) cannot be reached, so usage cannot be counted safely. Nothing was recorded; retry (recording usage is idempotent by event id).',
});

export const UnknownReservation = defineProblem({
  code: 'unknown_reservation',
  status: 404,
  title: 'No such quota reservation',
  description: 'The reservation id is not one this service issued.',
});

export const ReservationSettled = defineProblem({
  code: 'reservation_settled',
  status: 409,
  title: 'Quota reservation already settled',
  description:
    'The reservation was released (or committed) already; a reservation is settled once. `status` says how.',
});
