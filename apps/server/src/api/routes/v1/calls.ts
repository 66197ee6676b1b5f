// /api/v1/calls: place outbound calls; the call history (filtered, sorted, paged, exported as CSV); one
// call with its timeline, transcript and recording (by byte range, stereo or mixed); cancel one before it
// is answered; control a live one (hang up, say, inject, transfer, mute); erase one. Thin: validate, call
// one verb, answer.
import { Readable } from 'node:stream';
import {
  Call,
  CallControlAccepted,
  CallControlBody,
  CallDetail,
  CallEvent,
  CallEventsQuery,
  CallFilters,
  callPageOf,
  CallsQuery,
  CallTranscript,
  ActiveCalls,
  CreateCallBody,
  IdParams,
  RecordingQuery,
} from '@parley/contracts';
import {
  cancelCall,
  controlCall,
  createOutboundCall,
  eraseCall,
  exportCalls,
  getCall,
  getCallTranscript,
  listCallEvents,
  listCalls,
  listActiveCalls,
  openCallRecording,
} from '@parley/services';
import { z } from 'zod';
import { organizationContext } from '../../plugins/auth.js';
import type { RouteModule } from '../../types.js';
import { callsCsv } from './calls-csv.js';
import { sendRecording } from './recording-response.js';
import { publishApiCallStatus } from '../../../live/live-call-events.js';
import { publishFailedDial } from '../../../live/status-change-reports.js';

export const callRoutes: RouteModule = (app, { deps, liveEvents }) => {
  const tags = ['calls'];
  app.post(
    '/calls',
    {
      schema: {
        tags,
        summary: 'Place an outbound call from one of the organization’s numbers (answers it queued)',
        body: CreateCallBody,
        response: { 201: Call },
      },
    },
    async (request, reply) => {
      const ctx = await organizationContext(deps, request);
      const call = await createOutboundCall(ctx, request.body).catch(async (error: unknown) => {
        await publishFailedDial(liveEvents, deps.db, error, request.log);
        throw error;
      });
      publishApiCallStatus(liveEvents, ctx.organizationId, call);
      return reply.code(201).send(call);
    },
  );
  app.get(
    '/calls/active',
    {
      schema: {
        tags,
        summary:
          'The calls not over yet (queued, ringing, in progress) on every runtime, with the one carrying each',
        response: { 200: ActiveCalls },
      },
    },
    async (request) => listActiveCalls(await organizationContext(deps, request)),
  );
  app.get(
    '/calls',
    {
      schema: {
        tags,
        summary:
          'List calls by agent, status, direction, carrier, number, dates, end reason, duration or words said',
        querystring: CallsQuery,
        response: { 200: callPageOf(Call) },
      },
    },
    async (request) => listCalls(await organizationContext(deps, request), request.query),
  );
  app.get(
    '/calls/export.csv',
    {
      schema: {
        tags,
        summary: 'The calls the list filters select, as CSV, streamed (columns in docs/api.md)',
        querystring: CallFilters,
      },
    },
    async (request, reply) => {
      const rows = exportCalls(await organizationContext(deps, request), request.query);
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="calls.csv"')
        .send(Readable.from(callsCsv(rows)));
    },
  );
  app.get(
    '/calls/:id',
    { schema: { tags, summary: 'Get a call', params: IdParams, response: { 200: CallDetail } } },
    async (request) => getCall(await organizationContext(deps, request), request.params.id),
  );
  app.get(
    '/calls/:id/events',
    {
      schema: {
        tags,
        summary: 'The call’s timeline, in order (paged by `seq`, optionally by type)',
        params: IdParams,
        querystring: CallEventsQuery,
        response: { 200: callPageOf(CallEvent) },
      },
    },
    async (request) =>
      listCallEvents(await organizationContext(deps, request), request.params.id, request.query),
  );
  app.get(
    '/calls/:id/transcript',
    {
      schema: {
        tags,
        summary: 'What was said on the call, turn by turn',
        params: IdParams,
        response: { 200: CallTranscript },
      },
    },
    async (request) => getCallTranscript(await organizationContext(deps, request), request.params.id),
  );
  app.get(
    '/calls/:id/recording',
    {
      schema: {
        tags,
        summary: 'The call’s recording as WAV, stereo (caller left, agent right) or mixed; honours `Range`',
        params: IdParams,
        querystring: RecordingQuery,
      },
    },
    async (request, reply) => {
      const file = await openCallRecording(
        await organizationContext(deps, request),
        request.params.id,
        request.query.channels,
      );
      return sendRecording(request, reply, file);
    },
  );
  app.post(
    '/calls/:id/cancel',
    {
      schema: {
        tags,
        summary: 'Cancel a queued or ringing call (hangs it up at the carrier); answers the call',
        params: IdParams,
        response: { 200: Call },
      },
    },
    async (request) => {
      const ctx = await organizationContext(deps, request);
      const call = await cancelCall(ctx, request.params.id);
      if (call.status === 'canceled') publishApiCallStatus(liveEvents, ctx.organizationId, call);
      return call;
    },
  );
  app.post(
    '/calls/:id/control',
    {
      schema: {
        tags,
        summary:
          'Control a live call: hang up, say a text, add to the agent’s context, transfer, hand off, mute or unmute',
        params: IdParams,
        body: CallControlBody,
        response: { 202: CallControlAccepted },
      },
    },
    async (request, reply) =>
      reply
        .code(202)
        .send(await controlCall(await organizationContext(deps, request), request.params.id, request.body)),
  );
  app.delete(
    '/calls/:id',
    {
      schema: {
        tags,
        summary:
          'Erase a call: its record, events, transcript, leads and recording (cancels it first if unanswered)',
        params: IdParams,
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      const ctx = await organizationContext(deps, request);
      await eraseCall(ctx, request.params.id);
      // What was said on the call is no longer replayed to live clients resuming from before now.
      await liveEvents.forgetCall(ctx.organizationId, request.params.id);
      return reply.code(204).send(null);
    },
  );
};
