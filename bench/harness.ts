import autocannon from 'autocannon';

export interface LoadResult {
  name: string;
  requestsPerSecond: number;
  p99Ms: number;
  non2xx: number;
}

export interface LoadOptions {
  durationSeconds?: number;
  connections?: number;
  headers?: Record<string, string>;
}

/**
 * Drives `url` from this process for `durationSeconds` with `connections` keep-alive
 * connections (loopback only) and returns throughput and tail latency.
 */
export async function load(
  name: string,
  url: string,
  { durationSeconds = 4, connections = 16, headers = {} }: LoadOptions = {},
): Promise<LoadResult> {
  const result = await autocannon({ url, connections, duration: durationSeconds, headers });
  return {
    name,
    requestsPerSecond: Math.round(result.requests.average),
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
  };
}

export interface Case {
  name: string;
  url: string;
  headers?: Record<string, string>;
}

/**
 * Runs the cases in turn for `rounds` rounds (baseline first each round), so drift in the
 * machine's load hits every case alike, and reports each case's median against the baseline's.
 */
export async function compare(
  title: string,
  cases: Case[],
  rounds = 5,
  options: LoadOptions = {},
): Promise<void> {
  for (const c of cases)
    await load('warm-up', c.url, { ...options, durationSeconds: 3, headers: c.headers });
  const runs = new Map<string, LoadResult[]>(cases.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round += 1) {
    for (const c of cases)
      runs.get(c.name)!.push(await load(c.name, c.url, { ...options, headers: c.headers }));
  }
  const median = (values: number[]) =>
    [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const rows = cases.map((c) => {
    const results = runs.get(c.name)!;
    return {
      case: c.name,
      'req/s (median)': median(results.map((r) => r.requestsPerSecond)),
      'req/s (each round)': results.map((r) => r.requestsPerSecond).join(' / '),
      'p99 ms (median)': median(results.map((r) => r.p99Ms)),
      'non-2xx': results.reduce((sum, r) => sum + r.non2xx, 0),
    };
  });
  const baseline = rows[0]['req/s (median)'];
  console.log(`\n${title} (${rounds} rounds)`);
  console.table(
    rows.map((row) => ({
      ...row,
      'ratio to baseline': (row['req/s (median)'] / baseline).toFixed(2),
    })),
  );
}
