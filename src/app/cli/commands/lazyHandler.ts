/**
 * {@link lazyHandler}: a command handler whose implementation is imported when the command
 * runs, so that `mcpflow --help`, `--version` and every other command load none of it (the MCP
 * SDK, SQLite, the chaos kit).
 *
 * @example
 * ```ts
 * Command.make("tools", { json: Flags.json }, lazyHandler(() => import("./internal/tools.ts").then((m) => m.tools)))
 * ```
 * @module
 */
import * as Effect from "effect/Effect"

/**
 * Wraps `load` (a dynamic `import()` of the module that implements a command) as the command's
 * handler. A module that fails to load is a defect: it is part of mcpflow itself.
 *
 * @example
 * ```ts
 * const handler = lazyHandler(() => import("./internal/plan.ts").then((m) => m.plan))
 * ```
 */
export const lazyHandler = <A, E, R>(load: () => Promise<(input: A) => Effect.Effect<void, E, R>>) =>
(input: A): Effect.Effect<void, E, R> => Effect.flatMap(Effect.promise(load), (handle) => handle(input))
