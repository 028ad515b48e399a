/**
 * Writes the demo's fine-tuning data, deterministically (a seeded generator: the same bytes on
 * every run), in OpenAI's chat format: `support-train.jsonl` (300 conversations) and
 * `support-validation.jsonl` (30), customer service of "Acme Rail", a fictional European train
 * operator. Written for this project; no third-party text.
 *
 *   npx ts-node --transpile-only apps/demo/data/generate-training-data.ts
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** mulberry32: a small seeded PRNG, so the files never change between runs. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CITIES = [
  'Amsterdam',
  'Berlin',
  'Brussels',
  'Cologne',
  'Copenhagen',
  'Frankfurt',
  'Hamburg',
  'Lyon',
  'Milan',
  'Munich',
  'Paris',
  'Prague',
  'Vienna',
  'Zurich',
];
const NAMES = ['Anna', 'Ben', 'Clara', 'David', 'Elif', 'Farid', 'Greta', 'Hugo', 'Ines', 'Jonas'];

/** Each topic: the customer's question and the agent's answer, with slots. */
const TOPICS: { ask: string[]; answer: string }[] = [
  {
    ask: [
      'My train from {from} to {to} was {minutes} minutes late. Can I get compensation?',
      'The {from} to {to} service arrived {minutes} minutes late today. What do I get back?',
    ],
    answer:
      'I am sorry your journey from {from} to {to} was delayed by {minutes} minutes. For a delay of 60 minutes or more you receive 25 percent of the ticket price, and 50 percent from 120 minutes. Send the compensation form with your ticket number within three months and the refund reaches your account within 14 days.',
  },
  {
    ask: [
      'I want to cancel my ticket from {from} to {to} for {day}. Is that possible?',
      'Can I get a refund for my {from} to {to} ticket on {day}?',
    ],
    answer:
      'Yes, {name}. A flexible ticket from {from} to {to} can be cancelled free of charge until the day before travel, so your ticket for {day} is refunded in full. A saver ticket is refunded minus a 10 euro fee. You can cancel in the app under My bookings.',
  },
  {
    ask: [
      'Can I take my bicycle on the train from {from} to {to}?',
      'Do I need a reservation for a bike between {from} and {to}?',
    ],
    answer:
      'Yes, bicycles travel on our trains between {from} and {to} with a bicycle reservation. The reservation costs 9 euro and you book it together with your ticket. Folding bicycles that are folded count as luggage and travel free.',
  },
  {
    ask: [
      'I left my {item} on the train from {from} to {to} on {day}. What should I do?',
      'I lost my {item} on the {from} to {to} train. Can you help?',
    ],
    answer:
      'I am sorry about your {item}, {name}. Please report it with the lost property form and give the train from {from} to {to}, the date and your seat. Items found on our trains are kept at the lost property office for 30 days and we contact you as soon as your {item} is found.',
  },
  {
    ask: [
      'I use a wheelchair. Can someone help me board in {from} on {day}?',
      'I need boarding assistance at {from} for my trip to {to}.',
    ],
    answer:
      'Of course, {name}. Our mobility service helps you board in {from} and leave the train in {to} at no cost. Please book the assistance at least 24 hours before your journey, and meet our staff at the information point 20 minutes before departure.',
  },
  {
    ask: [
      'How much is a monthly season ticket between {from} and {to}?',
      'Is there a season ticket for commuting from {from} to {to}?',
    ],
    answer:
      'A monthly season ticket between {from} and {to} costs less than twenty single journeys, and it pays for itself after about twelve trips. You can buy it in the app, it starts on any day you choose, and it renews every month until you cancel it.',
  },
  {
    ask: [
      'Can I reserve a seat on the {time} train from {from} to {to}?',
      'I would like a window seat from {from} to {to} at {time}.',
    ],
    answer:
      'Yes, a seat reservation on the {time} train from {from} to {to} costs 5 euro in second class and is included in first class. Choose your seat in the app; window, aisle and quiet zone seats are marked on the coach plan.',
  },
  {
    ask: [
      'My connection in {via} was missed because the train from {from} was late. What now?',
      'I missed my connection in {via} on the way from {from} to {to}.',
    ],
    answer:
      'When a delay makes you miss a connection, your ticket stays valid on the next train, {name}. In {via} you can take the next service to {to} without buying a new ticket, and if you arrive 60 minutes late or more you can claim compensation as well.',
  },
];
const ITEMS = ['laptop', 'umbrella', 'backpack', 'phone', 'scarf', 'wallet', 'jacket'];
const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const TIMES = ['07:12', '08:30', '09:45', '12:05', '14:20', '17:38', '19:02'];
const SYSTEM = 'You are the customer service assistant of Acme Rail. Answer briefly and kindly.';

function conversations(count: number, seed: number): string {
  const random = generator(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const topic = TOPICS[i % TOPICS.length];
    const from = pick(CITIES);
    const to = pick(CITIES.filter((city) => city !== from));
    const slots: Record<string, string> = {
      from,
      to,
      via: pick(CITIES.filter((city) => city !== from && city !== to)),
      name: pick(NAMES),
      minutes: String(60 + Math.floor(random() * 120)),
      day: pick(DAYS),
      time: pick(TIMES),
      item: pick(ITEMS),
    };
    const fill = (text: string) => text.replace(/\{(\w+)\}/g, (_, key: string) => slots[key]);
    lines.push(
      JSON.stringify({
        messages: [
          { role: 'system', content: SYSTEM },
          { role: 'user', content: `Hello, this is ${slots.name}. ${fill(pick(topic.ask))}` },
          { role: 'assistant', content: fill(topic.answer) },
        ],
      }),
    );
  }
  return lines.join('\n') + '\n';
}

const here = __dirname;
writeFileSync(join(here, 'support-train.jsonl'), conversations(300, 13));
writeFileSync(join(here, 'support-validation.jsonl'), conversations(30, 1013));
