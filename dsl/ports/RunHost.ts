/**
 * The services a cluster runner lends to runs it did not start. On one process, a run's body runs
 * with the services of the fiber that started it (`FlowEngine.begin`). On a cluster, a run is
 * submitted by one process (`mcpflow run --database`) and its body runs on whichever runner owns
 * its shard — after a runner dies, on another one. That runner has no caller: its `RunHost` gives
 * the body the services of the flow (its MCP gateway, where its events go).
 *
 * Without a `RunHost` (the default), a durable engine that restarts a run nobody resumed parks it.
 *
 * @example
 * ```ts
 * const host = Layer.succeed(RunHost)({ services: (flow) => Effect.succeed(flow === "deploy" ? gatewayContext : undefined) })
 * ```
 * @module
 */
import { type Context, type Effect, Context as Ctx } from "effect"

/**
 * Lends services to runs this process runs on behalf of others.
 *
 * @example
 * ```ts
 * const services = yield* host.services("deploy") // undefined: this runner does not serve it
 * ```
 */
export class RunHost extends Ctx.Service<RunHost, {
  /** The services a run of the flow named `flow` runs with here, or undefined when this process does not serve it. */
  readonly services: (flow: string) => Effect.Effect<Context.Context<never> | undefined>
}>()("mcpflow/dsl/ports/RunHost") {}
