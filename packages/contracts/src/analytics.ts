// The analytics summary: what an organization's calls in a time range add up to.
import { z } from 'zod';
import { Id, Timestamp } from './common.js';

/** The longest range one summary covers (a little over a year, so "last 12 months" always fits). */
export const MAX_ANALYTICS_RANGE_DAYS = 400;

const DAY_MS = 24 * 60 * 60 * 1000;

export const AnalyticsSummaryQuery = z
  .strictObject({
    from: Timestamp.describe('Calls created at or after this instant (ISO 8601 with offset).'),
    to: Timestamp.describe(
      `Calls created before this instant; at most ${MAX_ANALYTICS_RANGE_DAYS} days after \`from\`.`,
    ),
    agentId: Id.optional().describe('Only the calls of this agent.'),
  })
  .superRefine((query, ctx) => {
    const span = Date.parse(query.to) - Date.parse(query.from);
    if (span <= 0) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after `from`' });
    else if (span > MAX_ANALYTICS_RANGE_DAYS * DAY_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['to'],
        message: `must be at most ${MAX_ANALYTICS_RANGE_DAYS} days after \`from\``,
      });
    }
  });
export type AnalyticsSummaryQuery = z.infer<typeof AnalyticsSummaryQuery>;

const count = z.number().int().min(0);
const milliseconds = z.number().min(0).nullable();

export const AnalyticsDay = z.object({
  date: z.string().describe('The UTC day, `YYYY-MM-DD`.'),
  calls: count,
  answered: count,
  talkSeconds: count.describe('Talk time of the calls created that day that were answered and ended.'),
});
export type AnalyticsDay = z.infer<typeof AnalyticsDay>;

export const AnalyticsSummary = z.object({
  from: Timestamp,
  to: Timestamp,
  agentId: Id.nullable(),
  calls: count.describe('Calls created in the range.'),
  answered: count.describe(
    'Calls that were answered: they reached `in_progress` (an answer time is set), or their status is ' +
      '`in_progress`, `completed` or `voicemail`, or they ended `transferred`.',
  ),
  answeredRate: z
    .number()
    .min(0)
    .max(1)
    .nullable()
    .describe('`answered / calls`, from 0 to 1; null when there are no calls.'),
  talkSeconds: z.object({
    total: count.describe('Sum of the calls’ talk time (answer to end, whole seconds per call).'),
    average: z
      .number()
      .min(0)
      .nullable()
      .describe('Average over the calls that were answered and ended; null when there are none.'),
  }),
  byStatus: z.record(z.string(), count).describe('Calls per current status.'),
  byEndReason: z.record(z.string(), count).describe('Ended calls per end reason.'),
  latency: z
    .object({
      calls: count.describe('Calls with a voice-to-voice latency figure (those with at least one turn).'),
      voiceToVoiceP50Ms: milliseconds.describe(
        'Median over the calls of each call’s median voice-to-voice latency; null without figures.',
      ),
      voiceToVoiceP95Ms: milliseconds.describe(
        '95th percentile over the calls of each call’s p95 voice-to-voice latency; null without figures.',
      ),
    })
    .describe('Turn latency, from the per-call summaries the runtime stores when a call ends.'),
  days: z
    .array(AnalyticsDay)
    .describe('One entry per UTC day that has calls, oldest first (days without calls are left out).'),
});
export type AnalyticsSummary = z.infer<typeof AnalyticsSummary>;
