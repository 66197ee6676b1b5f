import { describe, expect, it } from 'vitest';
import type { ChatMessage, ToolCall } from '../providers/llm.js';
import { ConversationContext } from './context.js';

const weather: ToolCall = { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' };
const time: ToolCall = { id: 'call_2', name: 'get_time', arguments: '{}' };

/** Every tool call has exactly one result right after it, and every result has a call. */
function expectValidToolPairs(messages: ChatMessage[]): void {
  const open = new Set<string>();
  for (const message of messages) {
    if (message.role === 'tool') {
      expect(open.has(message.toolCallId)).toBe(true);
      open.delete(message.toolCallId);
    } else {
      expect(open.size).toBe(0);
      if (message.role === 'assistant') for (const call of message.toolCalls ?? []) open.add(call.id);
    }
  }
  expect(open.size).toBe(0);
}

describe('ConversationContext', () => {
  it('sends the system prompt first, then the conversation with streamed replies joined', () => {
    const context = new ConversationContext('You are a helpful receptionist.');
    context.addUser('Hi there');
    context.beginAssistant(1);
    context.appendAssistantText(1, 'Hello! ');
    context.appendAssistantText(1, 'How can I help?');
    expect(context.messagesForRequest()).toEqual([
      { role: 'system', content: 'You are a helpful receptionist.' },
      { role: 'user', content: 'Hi there' },
      { role: 'assistant', content: 'Hello! How can I help?' },
    ]);
  });

  it('swaps the system prompt mid-call and keeps the history', () => {
    const context = new ConversationContext('Greet the caller.');
    context.addUser('Hi');
    context.setSystemPrompt('Collect the order.');
    context.addSystemNote('The caller is a returning customer.');
    const messages = context.messagesForRequest();
    expect(messages[0]).toEqual({ role: 'system', content: 'Collect the order.' });
    expect(messages.slice(1)).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'system', content: 'The caller is a returning customer.' },
    ]);
  });

  it('keeps text and tool calls of one round in one message, and the next round separate', () => {
    const context = new ConversationContext('sys');
    context.addUser('Weather in Paris?');
    context.beginAssistant(1);
    context.appendAssistantText(1, 'Let me check. ');
    context.addToolCalls(1, [weather, time]);
    context.addToolResult('call_2', '{"time":"10:00"}');
    context.addToolResult('call_1', '{"temp":21}');
    context.appendAssistantText(1, 'It is 21 degrees.');
    const messages = context.messagesForRequest();
    expect(messages.slice(1)).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: 'Let me check. ', toolCalls: [weather, time] },
      { role: 'tool', toolCallId: 'call_2', content: '{"time":"10:00"}' },
      { role: 'tool', toolCallId: 'call_1', content: '{"temp":21}' },
      { role: 'assistant', content: 'It is 21 degrees.' },
    ]);
    expectValidToolPairs(messages);
  });

  it('truncates an interrupted reply to what the caller heard, mid-clause', () => {
    const context = new ConversationContext('sys');
    context.addUser('Tell me about your plans.');
    context.beginAssistant(1);
    context.appendAssistantText(1, 'We have three plans: basic, ');
    context.appendAssistantText(1, 'plus and premium.');
    context.truncateAssistant(1, 'We have three plans: ba');
    // Text the model was still streaming is not heard either.
    context.appendAssistantText(1, ' Which one?');
    expect(context.messagesForRequest().slice(1)).toEqual([
      { role: 'user', content: 'Tell me about your plans.' },
      { role: 'assistant', content: 'We have three plans: ba' },
    ]);
    expect(context.transcript()).toEqual([
      { role: 'user', text: 'Tell me about your plans.' },
      { role: 'assistant', text: 'We have three plans: ba', turnId: 1 },
    ]);
  });

  it('removes the reply entirely when nothing was heard', () => {
    const context = new ConversationContext('sys');
    context.addUser('Hello?');
    context.beginAssistant(1);
    context.appendAssistantText(1, 'Hi, how can I help?');
    context.truncateAssistant(1, '');
    expect(context.messagesForRequest().slice(1)).toEqual([{ role: 'user', content: 'Hello?' }]);
    expect(context.transcript()).toEqual([{ role: 'user', text: 'Hello?' }]);
  });

  it('keeps tool calls and results valid when the caller interrupts the answer after a tool ran', () => {
    const context = new ConversationContext('sys');
    context.addUser('Weather in Paris?');
    context.beginAssistant(1);
    context.addToolCalls(1, [weather]);
    context.addToolResult('call_1', '{"temp":21}');
    context.appendAssistantText(1, 'It is 21 degrees and sunny.');
    context.truncateAssistant(1, '');
    const messages = context.messagesForRequest();
    expect(messages.slice(1)).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: '', toolCalls: [weather] },
      { role: 'tool', toolCallId: 'call_1', content: '{"temp":21}' },
    ]);
    expectValidToolPairs(messages);
  });

  it('truncates across rounds: the words before the tool call stay, the answer is cut', () => {
    const context = new ConversationContext('sys');
    context.addUser('Weather?');
    context.beginAssistant(1);
    context.appendAssistantText(1, 'One sec. ');
    context.addToolCalls(1, [weather]);
    context.addToolResult('call_1', '{"temp":21}');
    context.appendAssistantText(1, 'It is 21 degrees.');
    context.truncateAssistant(1, 'One sec. It is');
    expect(context.messagesForRequest().slice(2)).toEqual([
      { role: 'assistant', content: 'One sec. ', toolCalls: [weather] },
      { role: 'tool', toolCallId: 'call_1', content: '{"temp":21}' },
      { role: 'assistant', content: 'It is' },
    ]);
    expect(context.transcript()[1]).toEqual({ role: 'assistant', text: 'One sec. It is', turnId: 1 });
  });

  it('never sends a tool call that has no result yet, nor a result without its call', () => {
    const context = new ConversationContext('sys');
    context.addUser('Weather?');
    context.beginAssistant(1);
    context.addToolCalls(1, [weather, time]);
    context.addToolResult('call_1', '{"temp":21}');
    context.addToolResult('call_unknown', '{"x":1}');
    const messages = context.messagesForRequest();
    expect(messages.slice(2)).toEqual([
      { role: 'assistant', content: '', toolCalls: [weather] },
      { role: 'tool', toolCallId: 'call_1', content: '{"temp":21}' },
    ]);
    expectValidToolPairs(messages);
  });

  it('keeps a tool result next to its call when the caller spoke while the tool ran', () => {
    const context = new ConversationContext('sys');
    context.addUser('Weather?');
    context.beginAssistant(1);
    context.addToolCalls(1, [weather]);
    context.addUser('In Paris, I mean');
    context.addToolResult('call_1', '{"temp":21}');
    const messages = context.messagesForRequest();
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'user']);
    expectValidToolPairs(messages);
  });

  it('forgets a speculative turn completely', () => {
    const context = new ConversationContext('sys');
    context.addUser('Hi');
    context.addUser('I want to');
    context.beginAssistant(2);
    context.addToolCalls(2, [weather]);
    context.addToolResult('call_1', '{}');
    context.appendAssistantText(2, 'Sure!');
    context.removeTurn(2, 'I want to');
    expect(context.messagesForRequest().slice(1)).toEqual([{ role: 'user', content: 'Hi' }]);
  });

  it('trims the oldest turns to the window but keeps the system prompt and tool pairs', () => {
    const context = new ConversationContext('sys', { maxMessages: 4 });
    context.addUser('first question');
    context.beginAssistant(1);
    context.appendAssistantText(1, 'first answer');
    context.addUser('Weather?');
    context.beginAssistant(2);
    context.addToolCalls(2, [weather]);
    context.addToolResult('call_1', '{"temp":21}');
    context.appendAssistantText(2, 'It is 21 degrees.');
    const messages = context.messagesForRequest();
    expect(messages).toEqual([
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: '', toolCalls: [weather] },
      { role: 'tool', toolCallId: 'call_1', content: '{"temp":21}' },
      { role: 'assistant', content: 'It is 21 degrees.' },
    ]);
    // A tighter window cuts inside the newest turn, but never between a call and its result.
    const tight = context.messagesForRequest({ maxMessages: 2 });
    expect(tight.slice(1)).toEqual([{ role: 'assistant', content: 'It is 21 degrees.' }]);
    const byChars = context.messagesForRequest({ maxChars: 60 });
    expectValidToolPairs(byChars);
    expect(byChars[0]).toEqual({ role: 'system', content: 'sys' });
    expect(byChars.slice(1).map((m) => m.role)).toEqual(['assistant', 'tool', 'assistant']);
    // The stored history itself is untouched.
    expect(context.messages).toHaveLength(6);
  });
});
