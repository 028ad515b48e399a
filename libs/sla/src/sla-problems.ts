import { defineProblem } from '@app/core';

export const SlaReportNotFinal = defineProblem({
  code: 'sla_report_not_final',
  status: 409,
  title: 'The month has no frozen SLA report yet',
  description:
    'A signed manifest exists only for a month the monthly report job has frozen (after the month ends in the tenant time zone). Read the live figures with GET .../sla?month=.',
});

export const MaintenanceWindowStarted = defineProblem({
  code: 'maintenance_window_started',
  status: 409,
  title: 'The maintenance window has already started',
  description:
    'A maintenance window can be withdrawn only before it starts: once under way it is part of the SLA record.',
});
