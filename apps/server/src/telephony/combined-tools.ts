// One executor for the session out of several (the call actions, the agent's own tools): their
// functions offered together, each call dispatched to the executor that offered the name. A name two
// executors offer goes to the first one given; the later one's function is left out.
import type { ToolDefinition, ToolExecutor, ToolInvocation, ToolOutcome, ToolPolicy } from '@parley/voice';

export class CombinedTools implements ToolExecutor {
  private readonly owner = new Map<string, ToolExecutor>();
  private readonly offered: ToolDefinition[] = [];

  /** `onClash` hears each function left out because an earlier executor offers its name. */
  constructor(executors: readonly ToolExecutor[], onClash: (name: string) => void = () => {}) {
    for (const executor of executors) {
      for (const definition of executor.definitions()) {
        if (this.owner.has(definition.name)) {
          onClash(definition.name);
          continue;
        }
        this.owner.set(definition.name, executor);
        this.offered.push(definition);
      }
    }
  }

  definitions(): readonly ToolDefinition[] {
    return this.offered;
  }

  policy(name: string): ToolPolicy | undefined {
    return this.owner.get(name)?.policy?.(name);
  }

  execute(invocation: ToolInvocation): Promise<ToolOutcome> {
    const executor = this.owner.get(invocation.call.name);
    if (!executor) {
      return Promise.resolve({
        status: 'error',
        code: 'unknown_tool',
        content: `There is no tool named ${invocation.call.name}.`,
      });
    }
    return executor.execute(invocation);
  }
}
