import autocannon from 'autocannon';

export interface LoadResult {
  name: string;
  requestsPerSecond: number;
  p99Ms: number;
  non2xx: number;
}

/**
 * Drives `url` from this process for `durationSeconds` with `connections` keep-alive
 * connections (loopback only) and returns throughput and tail latency.
 */
export async function load(
  name: string,
  url: string,
  { durationSeconds = 5, connections = 16, headers = {} as Record<string, string> } = {},
): Promise<LoadResult> {
  const result = await autocannon({ url, connections, duration: durationSeconds, headers });
  return {
    name,
    requestsPerSecond: Math.round(result.requests.average),
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
  };
}

/** Prints results and each one's ratio to the first (the baseline measured in the same run). */
export function report(title: string, results: LoadResult[]): void {
  const [baseline] = results;
  console.log(`\n${title}`);
  console.table(
    results.map((r) => ({
      case: r.name,
      'req/s': r.requestsPerSecond,
      'p99 ms': r.p99Ms,
      'non-2xx': r.non2xx,
      'ratio to baseline': (r.requestsPerSecond / baseline.requestsPerSecond).toFixed(2),
    })),
  );
}
