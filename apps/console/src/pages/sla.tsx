import { Box, Button, Grid, Typography } from '@mui/material';
import { useQueries, useQuery } from '@tanstack/react-query';
import { useParams, useSearchParams } from 'react-router-dom';
import {
  Bar,
  BarChart,
  CartesianGrid,
  LineChart,
  Legend,
  Line,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { api, SlaReport } from '../api';
import { DataTable } from '../components/data-table';
import { PageSection } from '../components/page';
import { Panel, Term, Terms } from '../components/panel';
import { Empty, ErrorState, formatInstant, isNotFound, Loading } from '../components/states';
import { StatusChip } from '../components/status-chip';
import { useSession } from '../session';
import { NotFoundPage } from './not-found';

/** How many months the history shows, the current one included. */
const HISTORY_MONTHS = 6;
/** The current month's figures are live: read them again this often. */
const LIVE_MS = 15_000;

/** `YYYY-MM` `months` before `month`. */
export function monthsBefore(month: string, months: number): string {
  const [year, m] = month.split('-').map(Number);
  const index = year * 12 + (m - 1) - months;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
}

const percent = (value: number | null) => (value === null ? '—' : `${value} %`);

/** Minor units as money in the contract's currency (its own number of decimals). */
export function money(minor: number, currency: string | null): string {
  if (!currency) return String(minor);
  const format = new Intl.NumberFormat('en', { style: 'currency', currency });
  return format.format(minor / 10 ** (format.resolvedOptions().maximumFractionDigits ?? 2));
}

/** Whether the month met its target: null when there is no target or nothing was measured. */
const metOf = (r: SlaReport) =>
  r.availability === null || r.availabilityTarget === null
    ? null
    : r.availability >= r.availabilityTarget;

/**
 * The tenant's SLA: availability per month against the contract's target, the selected month's
 * figures and service credit, and its incidents on a timeline (`GET /v1/tenants/{id}/sla`).
 */
export function SlaPage() {
  const { tenantId = '' } = useParams();
  const { can } = useSession();
  const [params, setParams] = useSearchParams();
  const readable = can('read', 'SlaReport', tenantId);
  const path = `/v1/tenants/${tenantId}/sla`;
  // The current month in the tenant's billing time zone: the server's to say.
  const current = useQuery({
    queryKey: ['sla', tenantId, 'current'],
    queryFn: () => api.get<SlaReport>(path),
    enabled: readable,
    refetchInterval: LIVE_MS,
  });
  const now = current.data?.month;
  const months = now
    ? Array.from({ length: HISTORY_MONTHS }, (_, i) => monthsBefore(now, HISTORY_MONTHS - 1 - i))
    : [];
  const history = useQueries({
    queries: months.slice(0, -1).map((month) => ({
      queryKey: ['sla', tenantId, month],
      queryFn: () => api.get<SlaReport>(path, { month }),
    })),
  });

  if (!readable || (current.error && isNotFound(current.error)))
    return <NotFoundPage what="SLA report" />;
  if (current.isPending) return <Loading label="Loading the SLA…" />;
  if (current.error) return <ErrorState error={current.error} what="the SLA" />;

  const reports = [...history.map((q) => q.data), current.data];
  const selected = params.get('month') ?? current.data.month;
  const report = reports.find((r) => r?.month === selected);
  const select = (month: string) => setParams(month === now ? {} : { month }, { replace: true });

  return (
    <PageSection
      id="sla-title"
      title="Service level"
      back={{ to: `/tenants/${tenantId}`, label: 'Back to the tenant' }}
    >
      <Panel title="Availability by month">
        <AvailabilityChart reports={reports.filter((r): r is SlaReport => Boolean(r))} />
        {history.some((q) => q.isPending) && <Loading label="Loading earlier months…" />}
        {history
          .filter((q) => q.error)
          .slice(0, 1)
          .map((q) => (
            <ErrorState key="history" error={q.error} what="earlier months" />
          ))}
        <DataTable
          label="Availability by month"
          rows={reports.filter((r): r is SlaReport => Boolean(r)).reverse()}
          rowKey={(r) => r.month}
          columns={[
            {
              header: 'Month',
              cell: (r) => (
                <Button
                  size="small"
                  onClick={() => select(r.month)}
                  aria-pressed={r.month === selected}
                  aria-label={`Show ${r.month}`}
                  variant={r.month === selected ? 'contained' : 'text'}
                >
                  {r.month}
                </Button>
              ),
            },
            { header: 'Availability', cell: (r) => percent(r.availability) },
            { header: 'Target', cell: (r) => percent(r.availabilityTarget) },
            {
              header: 'Met',
              cell: (r) => {
                const met = metOf(r);
                return met === null ? '—' : <StatusChip status={met ? 'met' : 'missed'} />;
              },
            },
            { header: 'Bad minutes', cell: (r) => r.badMinutes.toLocaleString('en') },
            { header: 'Incidents', cell: (r) => r.incidents.length },
            {
              header: 'Credit',
              cell: (r) =>
                r.creditPercent
                  ? `${r.creditPercent} % = ${money(r.creditMinor, r.currency)}`
                  : 'none',
            },
            {
              header: 'Report',
              cell: (r) =>
                r.final ? (
                  <StatusChip status="final" />
                ) : r.month === now ? (
                  <StatusChip status="live" />
                ) : (
                  'not frozen'
                ),
            },
          ]}
        />
      </Panel>
      {report ? (
        <MonthDetail report={report} />
      ) : history.some((q) => q.isPending) ? (
        <Loading label={`Loading ${selected}…`} />
      ) : (
        <Empty>
          No report for {selected} here.{' '}
          <Button onClick={() => select(current.data.month)}>Show the current month</Button>
        </Empty>
      )}
    </PageSection>
  );
}

/** Availability per month as bars, the contract's target as a line (it may change by month). */
function AvailabilityChart({ reports }: { reports: SlaReport[] }) {
  const data = reports.map((r) => ({
    month: r.month,
    availability: r.availability,
    target: r.availabilityTarget,
  }));
  const values = data.flatMap((d) => [d.availability, d.target]).filter((v) => v !== null);
  if (values.length === 0) return <Empty>Nothing was measured in these months.</Empty>;
  // Near 100 % is where the story is: start the axis just under the lowest figure.
  const floor = Math.max(0, Math.floor(Math.min(...values) - 0.5));
  return (
    <Box component="figure" sx={{ m: 0, mb: 2 }} aria-labelledby="availability-chart-title">
      <Typography id="availability-chart-title" component="figcaption" variant="subtitle2">
        Availability against the target (dashed), percent
      </Typography>
      <Box sx={{ height: 240 }} aria-hidden data-testid="availability-chart">
        <ResponsiveContainer width="100%" height="100%">
          <LineChart data={data}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="month" />
            <YAxis domain={[floor, 100]} width={56} tickFormatter={(v: number) => `${v} %`} />
            <Tooltip formatter={(value) => `${Number(value)} %`} />
            <Legend />
            <Line
              dataKey="availability"
              name="availability"
              stroke="#1f4e79"
              strokeWidth={2}
              dot={{ r: 4 }}
              isAnimationActive={false}
            />
            <Line
              dataKey="target"
              name="target"
              stroke="#c0504d"
              strokeDasharray="4 2"
              isAnimationActive={false}
            />
          </LineChart>
        </ResponsiveContainer>
      </Box>
    </Box>
  );
}

/** One month: its figures, the credit, and its incidents on a timeline. */
function MonthDetail({ report: r }: { report: SlaReport }) {
  const met = metOf(r);
  const latency = (p95: number | null, target: number | null, ok: boolean | null) =>
    p95 === null
      ? 'no requests'
      : `${p95} ms${target !== null ? ` (target ${target} ms, ${ok ? 'met' : 'missed'})` : ''}`;
  return (
    <Grid container spacing={2}>
      <Grid size={{ xs: 12, md: 6 }}>
        <Panel
          title={`Month ${r.month}`}
          action={<StatusChip status={r.final ? 'final' : 'live'} label="Report" />}
        >
          <Terms>
            <Term
              name="Availability"
              value={
                <>
                  {percent(r.availability)} against {percent(r.availabilityTarget)}{' '}
                  {met !== null && (
                    <StatusChip status={met ? 'met' : 'missed'} label="Availability target" />
                  )}
                </>
              }
            />
            <Term
              name="Endpoint-minutes"
              value={`${r.goodMinutes} good, ${r.badMinutes} bad, ${r.excludedMinutes} in maintenance, of ${r.minutes}`}
            />
            <Term name="Requests" value={`${r.requests} (${r.errors} errors)`} />
            {(['ttfbP95', 'totalP95'] as const).map((key) => (
              <Term
                key={key}
                name={key === 'ttfbP95' ? 'p95 time to first byte' : 'p95 total time'}
                value={latency(
                  r.latency[`${key}Ms`],
                  r.latency.targets[`${key}Ms`],
                  r.latency.met[key],
                )}
              />
            ))}
            <Term
              name="Measured"
              value={`${formatInstant(r.from)} to ${formatInstant(r.measuredTo)} (months in ${r.timeZone})`}
            />
          </Terms>
        </Panel>
      </Grid>
      <Grid size={{ xs: 12, md: 6 }}>
        <Panel title="Service credit">
          <Terms>
            <Term
              name="Credit"
              value={
                r.creditPercent
                  ? `${r.creditPercent} % of ${money(r.monthlyFeeMinor, r.currency)} = ${money(r.creditMinor, r.currency)}`
                  : 'none'
              }
            />
            <Term name="Monthly committed fee" value={money(r.monthlyFeeMinor, r.currency)} />
            <Term
              name="Credit tiers"
              value={
                r.creditTiers.length
                  ? r.creditTiers.map((t) => `below ${t.below} %: ${t.creditPercent} %`).join('; ')
                  : 'none in the contract'
              }
            />
          </Terms>
          {!r.final && (
            <Typography variant="body2" color="text.secondary" sx={{ mt: 1 }}>
              Live figures: the month is frozen and signed once it is over.
            </Typography>
          )}
        </Panel>
      </Grid>
      <Grid size={12}>
        <Panel title="Incidents">
          <IncidentTimeline report={r} />
        </Panel>
      </Grid>
    </Grid>
  );
}

const hhmm = (ms: number) => new Date(ms).toISOString().slice(5, 16).replace('T', ' ');

/** The month's incidents as bars from start to end (still open: to now), and as a table. */
function IncidentTimeline({ report: r }: { report: SlaReport }) {
  if (r.incidents.length === 0) return <Empty>No incident in {r.month}.</Empty>;
  const start = Date.parse(r.from);
  const end = Math.max(Date.parse(r.measuredTo), start + 60_000);
  const data = [...r.incidents]
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt))
    .map((incident, i) => ({
      label: `#${i + 1}`,
      span: [
        Date.parse(incident.startedAt),
        incident.endedAt ? Date.parse(incident.endedAt) : end,
      ] as [number, number],
      incident,
    }));
  return (
    <>
      <Box
        component="figure"
        sx={{ m: 0, mb: 2 }}
        aria-labelledby="incident-timeline-title"
        data-testid="incident-timeline"
      >
        <Typography id="incident-timeline-title" component="figcaption" variant="subtitle2">
          Incidents over {r.month} (UTC)
        </Typography>
        <Box sx={{ height: 60 + 32 * data.length }} aria-hidden>
          <ResponsiveContainer width="100%" height="100%">
            <BarChart data={data} layout="vertical" margin={{ left: 8, right: 24 }}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis
                type="number"
                dataKey="span"
                domain={[start, end]}
                scale="time"
                tickFormatter={hhmm}
              />
              <YAxis type="category" dataKey="label" width={40} />
              <Tooltip
                formatter={(value) => {
                  const [from, to] = value as unknown as [number, number];
                  return `${hhmm(from)} → ${hhmm(to)}`;
                }}
              />
              <Bar
                dataKey="span"
                name="incident"
                fill="#c0504d"
                minPointSize={3}
                isAnimationActive={false}
              />
            </BarChart>
          </ResponsiveContainer>
        </Box>
      </Box>
      <DataTable
        label="Incidents"
        rows={data}
        rowKey={(d) => d.incident.id}
        columns={[
          { header: 'Incident', cell: (d) => d.label },
          { header: 'Status', cell: (d) => <StatusChip status={d.incident.status} /> },
          { header: 'Started', cell: (d) => formatInstant(d.incident.startedAt) },
          { header: 'Ended', cell: (d) => formatInstant(d.incident.endedAt) },
          { header: 'Causes', cell: (d) => d.incident.causes.join(', ') },
          { header: 'Endpoints', cell: (d) => d.incident.endpointIds.length },
          { header: 'Bad minutes', cell: (d) => d.incident.badMinutes },
        ]}
      />
    </>
  );
}
