import { baseModel } from './base-models';
import { formatChatPrompt } from './chat-format';
import {
  conversationLoss,
  fineTune,
  fineTuneSteps,
  trainingTokensPerEpoch,
  type ChatConversation,
  type FineTuneStep,
} from './fine-tune';

const conversation = (question: string, answer: string): ChatConversation => ({
  messages: [
    { role: 'system', content: 'You are the support desk of Acme Cloud.' },
    { role: 'user', content: question },
    { role: 'assistant', content: answer },
  ],
});

const training = [
  conversation(
    'How do I reset my password?',
    'Open Settings, choose Security, then Reset password.',
  ),
  conversation('Where are invoices?', 'Invoices are under Billing, then Invoices, as PDF files.'),
  conversation('How do I add a user?', 'Open Settings, choose Members, then Invite a user.'),
  conversation('Can I export my data?', 'Yes: open Settings, choose Data, then Export as CSV.'),
  conversation('How do I enable SSO?', 'Open Settings, choose Security, then Single sign-on.'),
  conversation('Who can see audit logs?', 'Owners and auditors see audit logs under Security.'),
];
const validation = [
  conversation('How do I change my email?', 'Open Settings, choose Profile, then Email.'),
];

describe('fineTune', () => {
  const base = baseModel('llama-3-8b-local');

  it('lowers the loss on its training data, step after step, without touching the base model', () => {
    const before = conversationLoss(base, training);
    const steps: FineTuneStep[] = [];
    const result = fineTune(base, training, {
      epochs: 3,
      batchSize: 2,
      validation,
      onStep: (step) => steps.push(step),
    });
    expect(steps).toEqual(result.steps);
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(steps.every((s) => s.totalSteps === 9)).toBe(true);
    const after = conversationLoss(result.model, training);
    expect(after).toBeLessThan(before / 2);
    const epochLoss = (epoch: number) =>
      steps.filter((s) => s.epoch === epoch).reduce((sum, s) => sum + s.trainLoss, 0);
    expect(epochLoss(2)).toBeLessThan(epochLoss(1));
    expect(epochLoss(3)).toBeLessThan(epochLoss(2));
    // Validation loss is reported at the end of each epoch and improves on shared phrasing.
    const validationLosses = steps.flatMap((s) =>
      s.validationLoss === undefined ? [] : [s.validationLoss],
    );
    expect(validationLosses).toHaveLength(3);
    expect(validationLosses[0]).toBeLessThan(conversationLoss(base, validation));
    expect(conversationLoss(base, training)).toBe(before);
    expect(result.trainedTokens).toBeGreaterThan(0);
  });

  it('is deterministic for a seed', () => {
    const a = fineTune(base, training, { seed: 7 }).steps.map((s) => s.trainLoss);
    const b = fineTune(base, training, { seed: 7 }).steps.map((s) => s.trainLoss);
    expect(a).toEqual(b);
  });

  it('makes the adapted model answer like its training data', () => {
    const { model } = fineTune(base, training, { epochs: 4 });
    const prompt = [
      { role: 'system', content: 'You are the support desk of Acme Cloud.' },
      { role: 'user', content: 'How do I reset my password?' },
    ];
    const answer = model.complete(formatChatPrompt(prompt), { maxTokens: 30, temperature: 0 });
    expect(answer.text).toContain('Settings');
  });

  it('resumes from an epoch boundary with the very steps an uninterrupted run takes', () => {
    const options = { epochs: 3, batchSize: 2, seed: 11, validation };
    const whole = fineTune(base, training, options);
    // Epoch 1 alone (a generator stopped at the epoch's end), then epochs 2..3 from its model.
    const resumedFrom = base.clone();
    const stepsPerEpoch = whole.steps.length / 3;
    const epochOne = fineTuneSteps(resumedFrom, training, options);
    const first = Array.from({ length: stepsPerEpoch }, () => epochOne.next().value!);
    const rest = [...fineTuneSteps(resumedFrom, training, { ...options, startEpoch: 2 })];
    const strip = ({
      trainedTokens: _t,
      epochEnd: _e,
      ...step
    }: FineTuneStep & { trainedTokens?: number; epochEnd?: boolean }) => step;
    expect([...first, ...rest].map(strip)).toEqual(whole.steps.map(strip));
    expect(conversationLoss(resumedFrom, training)).toBe(conversationLoss(whole.model, training));
  });

  it('counts trained tokens up front: tokens per epoch × epochs', () => {
    const result = fineTune(base, training, { epochs: 3 });
    expect(result.trainedTokens).toBe(trainingTokensPerEpoch(training) * 3);
  });

  it('refuses data without an assistant message', () => {
    expect(() => fineTune(base, [{ messages: [{ role: 'user', content: 'hi' }] }])).toThrow(
      RangeError,
    );
  });
});
