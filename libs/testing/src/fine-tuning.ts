import { TenantDb } from '@app/authz';
import type { TestApp } from './test-app';

/**
 * Marks every unfinished fine-tuning job of this jest worker's database cancelled (settled), so
 * a later file's worker app does not train what an earlier file left. Call it in `afterAll`
 * after closing the file's worker apps.
 */
export async function retireFineTuningJobs(t: TestApp): Promise<void> {
  await t.app.get(TenantDb).asPlatform('tests: retire the fine-tuning jobs of this file', (m) =>
    m.query(
      `UPDATE fine_tuning_jobs SET status = 'cancelled', finished_at = now(), usage_settled = true
        WHERE status IN ('validating_files', 'queued', 'running')`,
    ),
  );
}

/**
 * A fine-tuning file in OpenAI's chat format: `count` conversations of a help desk whose answers
 * share phrasing (so training lowers the loss), as JSONL bytes.
 */
export function trainingJsonl(count: number, topic = 'the corn'): Buffer {
  const lines = Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      messages: [
        { role: 'system', content: 'You answer as a citizen of Rome.' },
        { role: 'user', content: `Question ${i}: what of ${topic}?` },
        {
          role: 'assistant',
          content: `We are accounted poor citizens; the patricians keep ${topic} in their storehouses (${i}).`,
        },
      ],
    }),
  );
  return Buffer.from(lines.join('\n') + '\n');
}
