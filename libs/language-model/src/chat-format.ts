import type { ChatMessage } from './tokenizer';

/**
 * The plain-text chat template of the local models: each message becomes a speaker turn
 * `ROLE:\n<content>\n\n` and the prompt ends by opening the assistant's turn. A speaker-label
 * layout because it is the layout of the base corpus (a play), so a base model continues a chat
 * prompt with a speech and ends it at the turn boundary like any other speech.
 *
 * @returns the prompt text to condition generation on
 */
export function formatChatPrompt(messages: readonly ChatMessage[]): string {
  return messages.map(formatTurn).join('') + ASSISTANT_TURN;
}

const ASSISTANT_TURN = 'ASSISTANT:\n';

function formatTurn(message: ChatMessage): string {
  return `${message.role.toUpperCase()}:\n${message.content}\n\n`;
}
