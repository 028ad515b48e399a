import type { FieldError } from '@app/core';
import type { ChatConversation } from '@app/language-model';

/** Roles a training conversation may use (OpenAI fine-tuning chat format). */
const ROLES = new Set(['system', 'user', 'assistant']);
/** Reported problems per file at most (the rest are counted). */
const MAX_REPORTED = 20;

export interface CheckedTrainingFile {
  lines: number;
  errors: FieldError[];
  /** Problems beyond the reported ones. */
  unreported: number;
}

/**
 * Checks a fine-tuning file line by line (OpenAI fine-tuning chat format: one JSON object per
 * line, `{"messages": [{"role", "content"}, ...]}`, at least one assistant message with text).
 * Blank lines are skipped. Each problem names its line (1-based) as `file:<line>`.
 */
export function checkTrainingFile(bytes: Buffer, maxLines: number): CheckedTrainingFile {
  const errors: FieldError[] = [];
  let unreported = 0;
  const problem = (line: number, message: string) => {
    if (errors.length < MAX_REPORTED) errors.push({ path: `file:${line}`, message });
    else unreported += 1;
  };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { lines: 0, errors: [{ path: 'file', message: 'is not UTF-8 text' }], unreported: 0 };
  }
  const rows = text.split('\n');
  let lines = 0;
  rows.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    lines += 1;
    if (lines > maxLines) {
      if (lines === maxLines + 1) problem(line, `more than ${maxLines} examples`);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      problem(line, 'is not valid JSON');
      return;
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      problem(line, 'must be a JSON object with "messages"');
      return;
    }
    const messages = (value as { messages?: unknown }).messages;
    if (!Array.isArray(messages) || messages.length === 0) {
      problem(line, '"messages" must be a non-empty array');
      return;
    }
    let answered = false;
    for (const [i, message] of messages.entries()) {
      const { role, content, weight } = (message ?? {}) as {
        role?: unknown;
        content?: unknown;
        weight?: unknown;
      };
      if (typeof role !== 'string' || !ROLES.has(role)) {
        problem(line, `messages[${i}].role must be one of system, user, assistant`);
        return;
      }
      if (typeof content !== 'string') {
        problem(line, `messages[${i}].content must be a string`);
        return;
      }
      if (weight !== undefined && (role !== 'assistant' || (weight !== 0 && weight !== 1))) {
        problem(line, `messages[${i}].weight must be 0 or 1, and only on assistant messages`);
        return;
      }
      if (role === 'assistant' && weight !== 0 && content.trim() !== '') answered = true;
    }
    if (!answered)
      problem(line, 'needs at least one assistant message with content (and weight 1)');
  });
  if (lines === 0) errors.push({ path: 'file', message: 'holds no examples' });
  return { lines: Math.min(lines, maxLines), errors, unreported };
}

/**
 * The conversations of a file that passed {@link checkTrainingFile} (one per non-blank line), in
 * the fine-tuning chat format the language model trains on.
 *
 * @throws SyntaxError when a line is not JSON (the file was not checked)
 */
export function parseTrainingFile(bytes: Buffer): ChatConversation[] {
  // TextDecoder drops a byte-order mark, as checkTrainingFile's does.
  return new TextDecoder('utf-8')
    .decode(bytes)
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const { messages } = JSON.parse(line) as ChatConversation;
      return {
        messages: messages.map(({ role, content, weight }) => ({
          role,
          content,
          ...(weight === 0 ? { weight: 0 as const } : {}),
        })),
      };
    });
}
