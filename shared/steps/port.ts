/**
 * What a few steps need from the orchestration runtime, as the Functions adapter supplies it from
 * the Durable client binding: start an orchestration, raise an event, read an instance's status.
 * The engine never sees a Durable type.
 */
export interface InstanceStatus {
  /** Durable's runtimeStatus: Pending, Running, Completed, ContinuedAsNew, Failed, Terminated … */
  runtimeStatus: string;
  /** The instance's output (a failure's message when Failed). */
  output?: unknown;
  /** The instance's input. */
  input?: unknown;
}

export interface OrchestrationPort {
  /** Starts an orchestration under a fixed id, replacing a finished instance of that id. */
  start(name: string, instanceId: string, input: unknown): Promise<void>;
  /** Raises an event; a missing or finished instance is not an error. */
  raiseEvent(instanceId: string, event: string, data: unknown): Promise<void>;
  /** The instance's status; undefined when there is no such instance. */
  status(instanceId: string): Promise<InstanceStatus | undefined>;
}
