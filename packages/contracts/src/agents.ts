import { z } from 'zod';
import { Id, Name, Timestamp } from './common.js';
import { E164 } from './phone-numbers.js';
import { BUILT_IN_VARIABLES, VARIABLE_NAME, malformedPlaceholders, templateVariables } from './templating.js';
import { AgentToolRef, ToolHeaders } from './tools.js';

const ProviderId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a provider id such as `openai` or `deepgram`')
  .max(64);
const ModelId = z.string().trim().min(1, 'must not be empty').max(200);
const Options = z
  .record(z.string(), z.unknown())
  .default({})
  .describe('Provider-specific options, validated against the provider catalog.');
const Text = (max: number) => z.string().max(max, `must be at most ${max} characters`);
const Milliseconds = (min: number, max: number) =>
  z.number().int('must be a whole number of milliseconds').min(min).max(max);

export const SttConfig = z.strictObject({
  provider: ProviderId,
  model: ModelId.optional(),
  language: z.string().max(35).optional().describe('Overrides the agent language for recognition.'),
  keywords: z.array(z.string().min(1).max(100)).max(100).default([]).describe('Words to boost.'),
  options: Options,
  credentialId: Id.optional().describe('Credential holding the API key; the instance default if absent.'),
});

const LlmTarget = z.strictObject({
  provider: ProviderId,
  model: ModelId,
  baseUrl: z.url().max(2048).optional().describe('For OpenAI-compatible servers (vLLM, Ollama, …).'),
  temperature: z.number().min(0).max(2).optional(),
  maxTokens: z.number().int().min(1).max(32000).optional(),
  options: Options,
  credentialId: Id.optional(),
});

export const LlmConfig = LlmTarget.extend({
  fallbacks: z
    .array(LlmTarget)
    .max(3)
    .default([])
    .describe('Tried in order when the primary fails or is too slow.'),
});

export const TtsConfig = z.strictObject({
  provider: ProviderId,
  model: ModelId.optional(),
  voice: z.string().trim().min(1, 'must name a voice').max(200),
  speed: z.number().min(0.5).max(2).optional(),
  options: Options,
  credentialId: Id.optional(),
});

export const TurnTakingConfig = z.strictObject({
  endpointingSilenceMs: Milliseconds(100, 5000)
    .default(500)
    .describe('Silence after speech that ends the caller’s turn.'),
  minInterruptionSpeechMs: Milliseconds(0, 3000)
    .default(300)
    .describe('Caller speech needed before the agent yields.'),
  minInterruptionWords: z.number().int().min(0).max(10).default(1),
  backchannelWords: z
    .array(z.string().trim().min(1).max(40))
    .max(100)
    .default(['yeah', 'mm-hm', 'uh-huh', 'okay', 'right', 'sure', 'yes']),
  interruptPhrases: z.array(z.string().trim().min(1).max(100)).max(100).default(['stop', 'wait', 'hold on']),
  falseInterruptionResumeMs: Milliseconds(0, 5000)
    .default(1500)
    .describe('If the caller made a sound but said nothing within this time, resume speaking.'),
  speculativeReplies: z.boolean().default(false),
  deadAirMs: Milliseconds(500, 20000).default(3000),
});

export const IdleConfig = z.strictObject({
  reminderAfterMs: Milliseconds(1000, 120000).default(8000),
  maxReminders: z.number().int().min(0).max(10).default(2),
  reminderMessages: z.array(Text(1000).min(1)).max(10).default(['Are you still there?']),
  hangupMessage: Text(1000).default('It seems you have stepped away. Goodbye!'),
});

export const FIRST_MESSAGE_MODES = ['agent-speaks', 'user-speaks', 'agent-generates'] as const;

export const Variable = z.strictObject({
  name: z.string().regex(VARIABLE_NAME, 'must be a name such as `first_name` or `customer.tier`').max(100),
  default: z.union([z.string().max(2000), z.number(), z.boolean()]).optional(),
  description: Text(500).optional(),
});

/** A number the agent may hand the caller to, by a name the model picks from. */
export const TransferDestination = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be a short name such as `sales` or `front_desk`')
    .max(40),
  number: E164,
  description: Text(500).default('').describe('When the agent should transfer here; shown to the model.'),
  message: Text(1000)
    .default('')
    .describe('Said to the caller before the transfer (the model’s own words if empty).'),
});

/**
 * What the agent may do to the call itself during a conversation, offered to the model as functions:
 * `end_call` (hangs up once its goodbye has been heard), `transfer_call` to one of the named
 * destinations (a cold transfer: the agent leaves the call) and `send_dtmf` (keypad tones, to work an
 * automated menu on the far end).
 */
export const CallActionsConfig = z.strictObject({
  endCall: z.boolean().default(true).describe('Let the agent hang up after saying goodbye.'),
  transferDestinations: z.array(TransferDestination).max(20).default([]),
  sendDtmf: z.boolean().default(false).describe('Let the agent press keys on the far end’s menu.'),
});

export const VOICEMAIL_ACTIONS = ['hang_up', 'leave_message'] as const;

/**
 * Outbound calls answered by a machine: the carrier's answering-machine detection is requested when
 * `detect` is on; on a machine the call hangs up, or leaves `message` after the greeting's beep. Either
 * way it ends as `voicemail`.
 */
export const VoicemailConfig = z
  .strictObject({
    detect: z.boolean().default(true).describe('Ask the carrier to detect answering machines (outbound).'),
    action: z.enum(VOICEMAIL_ACTIONS).default('hang_up'),
    message: Text(1000).default('').describe('Left after the beep when `action` is `leave_message`.'),
  })
  .refine((v) => v.action !== 'leave_message' || v.message.trim().length > 0, {
    path: ['message'],
    message: 'must not be empty when the action is `leave_message`',
  });

/**
 * A request to the customer's server as a call starts (caller number, agent, direction, variables):
 * the JSON object it answers becomes variables for the prompt and first message. A slow or failing
 * server never holds the call: after `timeoutMs` the call starts with the variables it has.
 */
export const PreCallContextConfig = z.strictObject({
  url: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).max(2048),
  headers: ToolHeaders,
  credentialId: Id.optional().describe(
    'A `custom` credential whose secret authenticates the request (as for webhook tools).',
  ),
  timeoutMs: Milliseconds(100, 10_000).default(2000),
});
export type PreCallContextConfig = z.infer<typeof PreCallContextConfig>;

export const MetadataValue = z.union([z.string().max(2000), z.number(), z.boolean(), z.null()]);

const AgentConfigShape = z.strictObject({
  name: Name,
  language: z
    .string()
    .regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'must be a BCP 47 language tag such as `en` or `en-US`')
    .default('en-US'),
  systemPrompt: Text(100_000).default(''),
  firstMessage: Text(2000).default(''),
  firstMessageMode: z.enum(FIRST_MESSAGE_MODES).default('agent-speaks'),
  variables: z.array(Variable).max(100).default([]),
  stt: SttConfig.default({ provider: 'deepgram', model: 'nova-3', keywords: [], options: {} }),
  llm: LlmConfig.default({ provider: 'openai', model: 'gpt-4o-mini', options: {}, fallbacks: [] }),
  tts: TtsConfig.default({ provider: 'cartesia', model: 'sonic-2', voice: 'default', options: {} }),
  turnTaking: TurnTakingConfig.default(() => TurnTakingConfig.parse({})),
  idle: IdleConfig.default(() => IdleConfig.parse({})),
  maxDurationSeconds: z
    .number()
    .int()
    .min(10)
    .max(4 * 3600)
    .default(1800),
  closingMessage: Text(1000).default('We have reached the time limit for this call. Goodbye!'),
  recording: z.strictObject({ enabled: z.boolean().default(true) }).default({ enabled: true }),
  callActions: CallActionsConfig.default(() => CallActionsConfig.parse({})),
  voicemail: VoicemailConfig.default(() => VoicemailConfig.parse({})),
  tools: z
    .array(AgentToolRef)
    .max(64)
    .default([])
    .describe('The tools the agent may call, each with the functions it offers the model.'),
  preCallContext: PreCallContextConfig.nullable().default(null),
  webhookUrl: z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
    .max(2048)
    .nullable()
    .default(null),
  metadata: z
    .record(z.string().max(100), MetadataValue)
    .default({})
    .refine((m) => Object.keys(m).length <= 50, 'must have at most 50 keys'),
});

/** Text fields that accept `{{variable}}` placeholders. */
const TEMPLATED_FIELDS = ['systemPrompt', 'firstMessage', 'closingMessage'] as const;

/**
 * The whole configuration of an agent: the draft edits freely, a published version snapshots it.
 * Placeholders must be well formed and name a declared or built-in variable, so a typo is caught when
 * the agent is saved rather than heard as a blank on a call.
 */
export const AgentConfig = AgentConfigShape.superRefine((config, ctx) => {
  const declared = new Set([...config.variables.map((v) => v.name), ...BUILT_IN_VARIABLES]);
  const seen = new Set<string>();
  config.variables.forEach((v, i) => {
    if (seen.has(v.name))
      ctx.addIssue({
        code: 'custom',
        path: ['variables', i, 'name'],
        message: `duplicate variable \`${v.name}\``,
      });
    seen.add(v.name);
  });
  const destinations = new Set<string>();
  config.callActions.transferDestinations.forEach((d, i) => {
    if (destinations.has(d.name))
      ctx.addIssue({
        code: 'custom',
        path: ['callActions', 'transferDestinations', i, 'name'],
        message: `duplicate destination \`${d.name}\``,
      });
    destinations.add(d.name);
  });
  const toolIds = new Set<string>();
  config.tools.forEach((t, i) => {
    if (toolIds.has(t.toolId))
      ctx.addIssue({
        code: 'custom',
        path: ['tools', i, 'toolId'],
        message: 'lists this tool twice: give all its functions in one entry',
      });
    toolIds.add(t.toolId);
  });
  const templated: [string[], string][] = [
    ...TEMPLATED_FIELDS.map((f): [string[], string] => [[f], config[f]]),
    ...config.idle.reminderMessages.map((m, i): [string[], string] => [
      ['idle', 'reminderMessages', String(i)],
      m,
    ]),
    [['voicemail', 'message'], config.voicemail.message],
    ...config.callActions.transferDestinations.map((d, i): [string[], string] => [
      ['callActions', 'transferDestinations', String(i), 'message'],
      d.message,
    ]),
  ];
  for (const [path, text] of templated) {
    for (const bad of malformedPlaceholders(text)) {
      ctx.addIssue({ code: 'custom', path, message: `malformed placeholder ${bad}` });
    }
    for (const name of templateVariables(text)) {
      if (!declared.has(name)) {
        ctx.addIssue({
          code: 'custom',
          path,
          message: `uses undeclared variable {{${name}}}: add it to \`variables\``,
        });
      }
    }
  }
}).meta({ id: 'AgentConfig' });
export type AgentConfig = z.infer<typeof AgentConfig>;
export type AgentConfigInput = z.input<typeof AgentConfig>;

/** Creating an agent takes a whole configuration; omitted fields take their defaults. */
export const CreateAgentBody = AgentConfig;

/** A JSON merge patch (RFC 7396) of the draft configuration: `null` removes a field (back to its default). */
export const UpdateAgentBody = z
  .record(z.string(), z.unknown())
  .describe('A JSON merge patch of the draft config.');

export const Agent = z
  .object({
    id: Id,
    name: z.string(),
    draft: AgentConfigShape,
    publishedVersion: z.number().int().nullable(),
    hasUnpublishedChanges: z.boolean(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Agent' });
export type Agent = z.infer<typeof Agent>;

export const AgentVersion = z
  .object({
    agentId: Id,
    version: z.number().int(),
    config: AgentConfigShape,
    publishedBy: Id.nullable(),
    createdAt: Timestamp,
  })
  .meta({ id: 'AgentVersion' });
export type AgentVersion = z.infer<typeof AgentVersion>;

export const AgentVersionParams = z.strictObject({
  id: Id,
  // Versions are PostgreSQL integers: anything larger cannot exist, and must not reach the database.
  version: z.coerce.number().int().min(1).max(2_147_483_647),
});
