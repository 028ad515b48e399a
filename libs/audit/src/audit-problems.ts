import { defineProblem } from '@app/core';

export const ReportNotReady = defineProblem({
  code: 'report_not_ready',
  status: 409,
  title: 'Report not ready',
  description:
    'The report is queued, running or failed; its file and manifest exist once its status is `completed`.',
});
