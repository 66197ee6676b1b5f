// What the model reads of an MCP tool result: its text items, and a short mention of everything else
// (a voice agent cannot look at an image; it can say one was returned).

/** The parts of an MCP content block this reads (the SDK's types differ by protocol revision). */
interface ContentBlock {
  type: string;
  text?: unknown;
  uri?: unknown;
  resource?: { uri?: unknown; text?: unknown };
}

function describeBlock(block: ContentBlock): string {
  switch (block.type) {
    case 'text':
      return String(block.text ?? '');
    case 'image':
    case 'audio':
      return `[${block.type}]`;
    case 'resource_link':
      return `[resource: ${String(block.uri)}]`;
    case 'resource':
      return typeof block.resource?.text === 'string'
        ? block.resource.text
        : `[resource: ${String(block.resource?.uri)}]`;
    default:
      return `[${block.type}]`;
  }
}

/** The text of a result, at most `maxChars` characters (a cut text ends with an ellipsis). */
export function toolResultText(
  result: { content: readonly ContentBlock[]; structuredContent?: unknown },
  maxChars: number,
): string {
  const parts = result.content.map(describeBlock);
  // A tool may return only structured data.
  if (parts.length === 0 && result.structuredContent !== undefined) {
    parts.push(JSON.stringify(result.structuredContent));
  }
  const text = parts.join('\n');
  return text.length > maxChars ? `${text.slice(0, maxChars - 1)}…` : text;
}
