import { countChatTokens, countTokens, decode, encode } from './tokenizer';

describe('tokenizer (cl100k_base)', () => {
  it('encodes and decodes text losslessly with the real cl100k ids', () => {
    expect(encode('Hello world')).toEqual([9906, 1917]);
    expect(decode(encode('Speak, speak. — ünïcødé'))).toBe('Speak, speak. — ünïcødé');
  });

  it('counts tokens, zero for the empty string', () => {
    expect(countTokens('')).toBe(0);
    expect(countTokens('Hello world')).toBe(2);
  });

  it('encodes special-token text as ordinary text, never as the special token', () => {
    expect(encode('<|endoftext|>')).not.toContain(100257);
  });

  it('counts chat prompts as the OpenAI cookbook does: 3 per message, 3 priming, 1 per name', () => {
    // "user" and "Hello" are one token each: 3 + 1 + 1, plus 3 for the reply.
    expect(countChatTokens([{ role: 'user', content: 'Hello' }])).toBe(8);
    expect(countChatTokens([{ role: 'user', content: 'Hello', name: 'bob' }])).toBe(10);
    expect(countChatTokens([])).toBe(3);
  });
});
