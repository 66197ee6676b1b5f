// The analytics summary of an organization's calls created in [from, to): counts, answer rate, talk
// time, statuses, end reasons, turn latency and a per-day series, all aggregated by the database.
import type { AnalyticsSummary, AnalyticsSummaryQuery } from '@parley/contracts';
import { agents, and, eq, queryRows, sql } from '@parley/db';
import { authorize, type OrgContext } from '../context.js';
import { ServiceError } from '../errors.js';

/**
 * Answered: the call reached `in_progress` (the answer time is set then), or its status says a person
 * or a machine picked up (`in_progress`, `completed`, `voicemail`), or the agent handed it over.
 * Statuses like `busy`, `no_answer`, `failed` and `canceled` never were.
 */
const ANSWERED = sql`(answered_at is not null or status in ('in_progress', 'completed', 'voicemail') or end_reason = 'transferred')`;

/** Whole seconds from answer to end per call, like the call's `durations.talkSeconds`; null if either is missing. */
// `greatest` skips nulls (greatest(0, null) is 0), so the missing case is spelled out.
const TALK_SECONDS = sql`(case when answered_at is not null and ended_at is not null
  then greatest(0, round(extract(epoch from (ended_at - answered_at)))) end)`;

interface TotalsRow {
  calls: string | number;
  answered: string | number;
  talk_total: string | number | null;
  talk_calls: string | number;
  latency_calls: string | number;
  v2v_p50: string | number | null;
  v2v_p95: string | number | null;
}

interface GroupRow {
  status: string;
  end_reason: string | null;
  calls: string | number;
}

interface DayRow {
  day: string;
  calls: string | number;
  answered: string | number;
  talk_seconds: string | number | null;
}

// Both drivers return bigint and numeric aggregates as strings.
const num = (value: string | number | null): number => (value === null ? 0 : Number(value));
const numOrNull = (value: string | number | null): number | null => (value === null ? null : Number(value));

export async function summarizeCalls(
  ctx: OrgContext,
  query: AnalyticsSummaryQuery,
): Promise<AnalyticsSummary> {
  authorize(ctx, 'calls:read');
  if (query.agentId !== undefined) {
    // A deleted agent's calls still count: its history is still the organization's.
    const [agent] = await ctx.db
      .select({ id: agents.id })
      .from(agents)
      .where(and(eq(agents.id, query.agentId), eq(agents.organizationId, ctx.organizationId)));
    if (!agent) throw new ServiceError('agent_not_found', 'Agent not found');
  }
  const scope = sql`organization_id = ${ctx.organizationId}
    and created_at >= ${query.from}::timestamptz and created_at < ${query.to}::timestamptz
    ${query.agentId === undefined ? sql`` : sql`and agent_id = ${query.agentId}`}`;

  // Latency: each call stores p50/p95 of its own turns (not the turns themselves), so the summary's
  // figures are percentiles over calls: the median of the calls' medians and the p95 of their p95s.
  const [totals] = await queryRows<TotalsRow>(
    ctx.db,
    sql`select
          count(*) as calls,
          count(*) filter (where ${ANSWERED}) as answered,
          sum(${TALK_SECONDS}) as talk_total,
          count(${TALK_SECONDS}) as talk_calls,
          count(latency -> 'voiceToVoiceMs' -> 'p50') as latency_calls,
          percentile_cont(0.5) within group (order by (latency -> 'voiceToVoiceMs' ->> 'p50')::float8) as v2v_p50,
          percentile_cont(0.95) within group (order by (latency -> 'voiceToVoiceMs' ->> 'p95')::float8) as v2v_p95
        from calls where ${scope}`,
  );
  const groups = await queryRows<GroupRow>(
    ctx.db,
    sql`select status, end_reason, count(*) as calls from calls where ${scope} group by status, end_reason`,
  );
  const days = await queryRows<DayRow>(
    ctx.db,
    sql`select to_char(created_at at time zone 'UTC', 'YYYY-MM-DD') as day,
          count(*) as calls,
          count(*) filter (where ${ANSWERED}) as answered,
          sum(${TALK_SECONDS}) as talk_seconds
        from calls where ${scope}
        group by day order by day`,
  );

  const byStatus: Record<string, number> = {};
  const byEndReason: Record<string, number> = {};
  for (const group of groups) {
    byStatus[group.status] = (byStatus[group.status] ?? 0) + num(group.calls);
    if (group.end_reason !== null) {
      byEndReason[group.end_reason] = (byEndReason[group.end_reason] ?? 0) + num(group.calls);
    }
  }
  const calls = num(totals?.calls ?? 0);
  const answered = num(totals?.answered ?? 0);
  const talkTotal = num(totals?.talk_total ?? null);
  const talkCalls = num(totals?.talk_calls ?? 0);
  return {
    from: new Date(query.from).toISOString(),
    to: new Date(query.to).toISOString(),
    agentId: query.agentId ?? null,
    calls,
    answered,
    answeredRate: calls === 0 ? null : answered / calls,
    talkSeconds: { total: talkTotal, average: talkCalls === 0 ? null : talkTotal / talkCalls },
    byStatus,
    byEndReason,
    latency: {
      calls: num(totals?.latency_calls ?? 0),
      voiceToVoiceP50Ms: numOrNull(totals?.v2v_p50 ?? null),
      voiceToVoiceP95Ms: numOrNull(totals?.v2v_p95 ?? null),
    },
    days: days.map((day) => ({
      date: day.day,
      calls: num(day.calls),
      answered: num(day.answered),
      talkSeconds: num(day.talk_seconds),
    })),
  };
}
