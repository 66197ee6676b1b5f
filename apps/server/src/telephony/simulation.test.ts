import { describe, expect, it } from 'vitest';
import { CallSimulation, simulatedSessionInputs, simulationProblem } from './simulation.js';
import { buildSessionSetup, SessionSetupError } from './session-config.js';

const simulation = {
  apiKey: 'a-throwaway-simulator-key',
  stt: { deepgram: 'ws://127.0.0.1:4001' },
  llm: 'http://127.0.0.1:4002/v1',
  tts: { cartesia: 'ws://127.0.0.1:4003', 'openai-tts': 'http://[::1]:4004/v1' },
};

const agent = {
  name: 'Reception',
  systemPrompt: 'You help {{customer.number}}.',
  firstMessage: 'Hello from {{agent.name}}.',
  stt: { provider: 'deepgram', credentialId: '11111111-1111-4111-8111-111111111111' },
  llm: {
    provider: 'openai',
    model: 'gpt-4o-mini',
    baseUrl: 'https://llm.example.com/v1',
    credentialId: '22222222-2222-4222-8222-222222222222',
    fallbacks: [{ provider: 'groq', model: 'llama-3.1-8b-instant' }],
  },
  tts: { provider: 'cartesia', voice: 'voice-1' },
};

describe('call simulations', () => {
  it('accept only loopback URLs for the simulators', () => {
    expect(CallSimulation.safeParse(simulation).success).toBe(true);
    for (const url of [
      'http://169.254.169.254/v1',
      'http://10.0.0.1:80/v1',
      'http://127.0.0.1.example.com/v1',
      'http://user:pw@127.0.0.1/v1',
      'file:///etc/passwd',
    ]) {
      expect(CallSimulation.safeParse({ ...simulation, llm: url }).success, url).toBe(false);
    }
  });

  it("run the agent's words on the simulators, never its credentials or endpoints", async () => {
    const inputs = simulatedSessionInputs(agent, simulation);
    const looked: string[] = [];
    const setup = await buildSessionSetup(
      inputs.versionConfig,
      { callId: 'c1', direction: 'inbound', customerNumber: null, variables: {}, now: new Date(0) },
      async (id) => {
        looked.push(id);
        return inputs.credentials(id);
      },
      inputs.providerUrls,
    );
    expect(setup.agent.firstMessage).toBe('Hello from Reception.');
    expect(looked).not.toContain(agent.stt.credentialId);
    expect(looked).not.toContain(agent.llm.credentialId);
    expect(await Promise.all(looked.map((id) => inputs.credentials(id)))).toEqual(
      expect.arrayContaining([
        { apiKey: simulation.apiKey, baseUrl: simulation.stt.deepgram },
        { apiKey: simulation.apiKey, baseUrl: simulation.llm },
        { apiKey: simulation.apiKey, baseUrl: simulation.tts.cartesia },
      ]),
    );
    // The primary and the fallback LLM both go to the simulator.
    expect(setup.llm).toHaveLength(2);
  });

  it('name the provider the simulator cannot stand in for', () => {
    const elevenlabs = { ...agent, tts: { provider: 'elevenlabs', voice: 'v' } };
    expect(simulationProblem(elevenlabs, CallSimulation.parse(simulation))).toMatch(
      /no stand-in for the TTS provider `elevenlabs`/,
    );
    expect(() => simulatedSessionInputs(elevenlabs, simulation)).toThrow(SessionSetupError);
  });
});
