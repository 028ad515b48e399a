import { isFinished, JOB_STATUSES, jobTransition } from './job-lifecycle';

describe('fine-tuning job lifecycle', () => {
  it('walks validating_files → queued → running → succeeded', () => {
    expect(jobTransition('validating_files', 'validate')).toBe('queued');
    expect(jobTransition('queued', 'admit')).toBe('running');
    expect(jobTransition('running', 'succeed')).toBe('succeeded');
  });

  it('cancels any unfinished job and no finished one', () => {
    for (const status of JOB_STATUSES) {
      expect(jobTransition(status, 'cancel')).toBe(isFinished(status) ? undefined : 'cancelled');
    }
    expect(JOB_STATUSES.filter(isFinished)).toEqual(['succeeded', 'failed', 'cancelled']);
  });

  it('refuses to skip a step', () => {
    expect(jobTransition('validating_files', 'admit')).toBeUndefined();
    expect(jobTransition('queued', 'succeed')).toBeUndefined();
    expect(jobTransition('succeeded', 'fail')).toBeUndefined();
  });
});
