/**
 * Typed contracts for the MCP reference servers published on npm:
 *
 * - `Memory` — `@modelcontextprotocol/server-memory`: a knowledge graph kept in a JSONL file.
 * - `Filesystem` — `@modelcontextprotocol/server-filesystem`: file access below allowed directories.
 * - `Everything` — `@modelcontextprotocol/server-everything`: the MCP feature showcase.
 *
 * Their server keys are `memory`, `filesystem` and `everything`. The shapes follow the
 * `inputSchema` / `outputSchema` these servers publish (versions 2026.8.31: memory-server 0.6.3,
 * secure-filesystem-server 0.2.0, everything 2.0.0). `gateway.checkContracts(referenceContracts)`
 * compares them with what the running servers publish; `test/e2e/gateway.stdio.test.ts` does so
 * on every run.
 *
 * Optional inputs are `Schema.optionalKey`: the JSON codec of `Schema.optional` would send an
 * explicit `undefined` as `null`, which these servers reject.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Everything, Filesystem } from "mcpflow/contracts"
 *
 * const program = Effect.gen(function*() {
 *   yield* Filesystem.write_file({ path: "/tmp/work/a.txt", content: "hi" })
 *   const { content } = yield* Filesystem.read_text_file({ path: "/tmp/work/a.txt" })
 *   return yield* Everything.echo({ message: content }) // => "Echo: hi"
 * })
 * ```
 * @module
 */
import { Schema } from "effect"
import * as Tool from "../Tool.ts"

// ---------------------------------------------------------------------------------------------
// memory
// ---------------------------------------------------------------------------------------------

/**
 * An entity of the memory server's knowledge graph.
 *
 * @example
 * ```ts
 * const e: typeof Entity.Type = { name: "ada", entityType: "person", observations: ["wrote the first program"] }
 * ```
 */
export const Entity = Schema.Struct({
  /** The name of the entity (its identity in the graph). */
  name: Schema.String,
  /** The type of the entity. */
  entityType: Schema.String,
  /** Observation contents associated with the entity. */
  observations: Schema.Array(Schema.String)
})

/**
 * A directed relation between two entities of the memory server's graph.
 *
 * @example
 * ```ts
 * const r: typeof Relation.Type = { from: "ada", to: "babbage", relationType: "worked_with" }
 * ```
 */
export const Relation = Schema.Struct({
  /** The name of the entity where the relation starts. */
  from: Schema.String,
  /** The name of the entity where the relation ends. */
  to: Schema.String,
  /** The type of the relation (active voice). */
  relationType: Schema.String
})

/**
 * The memory server's whole graph, or the part of it a search returned.
 *
 * @example
 * ```ts
 * const g: typeof KnowledgeGraph.Type = { entities: [], relations: [] }
 * ```
 */
export const KnowledgeGraph = Schema.Struct({
  entities: Schema.Array(Entity),
  relations: Schema.Array(Relation)
})

/**
 * Contracts of `@modelcontextprotocol/server-memory` (server key `memory`). Every tool publishes
 * an `outputSchema`, so results are decoded from `structuredContent`.
 *
 * @example
 * ```ts
 * const created = yield* Memory.create_entities({ entities: [{ name: "ada", entityType: "person", observations: [] }] })
 * const graph = yield* Memory.read_graph({}) // { entities: [...], relations: [...] }
 * ```
 */
export const Memory = Tool.server("memory", {
  create_entities: Tool.define({
    description: "Create entities in the knowledge graph; returns those that did not exist yet",
    input: Schema.Struct({ entities: Schema.Array(Entity) }),
    output: Schema.Struct({ entities: Schema.Array(Entity) }),
    annotations: { readOnly: false, destructive: false, idempotent: false, openWorld: false }
  }),
  create_relations: Tool.define({
    description: "Create relations between entities; returns those that did not exist yet",
    input: Schema.Struct({ relations: Schema.Array(Relation) }),
    output: Schema.Struct({ relations: Schema.Array(Relation) }),
    annotations: { readOnly: false, destructive: false, idempotent: false, openWorld: false }
  }),
  read_graph: Tool.define({
    description: "Read the whole knowledge graph",
    input: Schema.Struct({}),
    output: KnowledgeGraph,
    annotations: { readOnly: true, destructive: false, idempotent: true, openWorld: false }
  }),
  search_nodes: Tool.define({
    description: "Search entities by name, type and observation content; returns them and the relations between them",
    input: Schema.Struct({ query: Schema.String }),
    output: KnowledgeGraph,
    annotations: { readOnly: true, destructive: false, idempotent: true, openWorld: false }
  })
})

// ---------------------------------------------------------------------------------------------
// filesystem
// ---------------------------------------------------------------------------------------------

/**
 * What most filesystem tools answer: one text, in `structuredContent.content`
 * (`"Successfully wrote to …"`, a file's text, a directory listing).
 *
 * @example
 * ```ts
 * const r: typeof TextContent.Type = { content: "[FILE] a.txt" }
 * ```
 */
export const TextContent = Schema.Struct({ content: Schema.String })

/**
 * Contracts of `@modelcontextprotocol/server-filesystem` (server key `filesystem`). Paths must
 * lie below one of the server's allowed directories; any other path fails with `ToolFailed`
 * ("Access denied - path outside allowed directories").
 *
 * @example
 * ```ts
 * yield* Filesystem.write_file({ path: "/tmp/work/a.txt", content: "one\ntwo" })
 * const { content } = yield* Filesystem.read_text_file({ path: "/tmp/work/a.txt", head: 1 }) // => "one"
 * const listing = yield* Filesystem.list_directory({ path: "/tmp/work" }) // => { content: "[FILE] a.txt" }
 * yield* Filesystem.create_directory({ path: "/tmp/work/reports/2024" })
 * ```
 */
export const Filesystem = Tool.server("filesystem", {
  write_file: Tool.define({
    description: "Create or overwrite a file with the given text",
    input: Schema.Struct({ path: Schema.String, content: Schema.String }),
    output: TextContent,
    annotations: { readOnly: false, destructive: true, idempotent: true, openWorld: false }
  }),
  read_text_file: Tool.define({
    description: "Read a file as text, optionally only its first (`head`) or last (`tail`) N lines",
    input: Schema.Struct({
      path: Schema.String,
      head: Schema.optionalKey(Schema.Finite),
      tail: Schema.optionalKey(Schema.Finite)
    }),
    output: TextContent,
    annotations: { readOnly: true, openWorld: false }
  }),
  create_directory: Tool.define({
    description: "Create a directory and its missing parents; an existing directory is fine",
    input: Schema.Struct({ path: Schema.String }),
    output: TextContent,
    annotations: { readOnly: false, destructive: false, idempotent: true, openWorld: false }
  }),
  list_directory: Tool.define({
    description: "List a directory, one `[FILE] name` or `[DIR] name` line per entry",
    input: Schema.Struct({ path: Schema.String }),
    output: TextContent,
    annotations: { readOnly: true, openWorld: false }
  })
})

// ---------------------------------------------------------------------------------------------
// everything
// ---------------------------------------------------------------------------------------------

/**
 * The cities `get-structured-content` knows.
 *
 * @example
 * ```ts
 * const city: typeof City.Type = "Chicago"
 * ```
 */
export const City = Schema.Literals(["New York", "Chicago", "Los Angeles"])

/**
 * The `get-structured-content` result.
 *
 * @example
 * ```ts
 * const w: typeof Weather.Type = { temperature: 22.5, conditions: "Partly cloudy", humidity: 65 }
 * ```
 */
export const Weather = Schema.Struct({
  /** Temperature in celsius. */
  temperature: Schema.Number,
  /** Weather conditions description. */
  conditions: Schema.String,
  /** Humidity percentage. */
  humidity: Schema.Number
})

/**
 * Contracts of `@modelcontextprotocol/server-everything` (server key `everything`). Only
 * `get-structured-content` publishes an `outputSchema`; the others answer one plain text block
 * (`"Echo: hi"`, `"The sum of 1 and 2 is 3."`). `longRunning` sends a progress notification
 * after each of its `steps` (the SDK may drop the last one, which races the result).
 *
 * @example
 * ```ts
 * yield* Everything.echo({ message: "hi" })          // => "Echo: hi"
 * yield* Everything.sum({ a: 1, b: 2 })               // => "The sum of 1 and 2 is 3."
 * yield* Everything.structuredContent({ location: "Chicago" }) // => { temperature, conditions, humidity }
 * yield* Everything.longRunning({ duration: 2, steps: 4 }, { timeout: "1 second", resetTimeoutOnProgress: true })
 * ```
 */
export const Everything = Tool.server("everything", {
  echo: Tool.define({
    description: "Echo the message back, as `Echo: <message>`",
    input: Schema.Struct({ message: Schema.String }),
    output: Schema.String,
    annotations: { readOnly: true, destructive: false, idempotent: true, openWorld: false }
  }),
  sum: Tool.define({
    name: "get-sum",
    description: "Add two numbers; answers `The sum of a and b is s.`",
    input: Schema.Struct({ a: Schema.Finite, b: Schema.Finite }),
    output: Schema.String,
    annotations: { readOnly: true, destructive: false, idempotent: true, openWorld: false }
  }),
  structuredContent: Tool.define({
    name: "get-structured-content",
    description: "The (made-up) weather of a city, as structured content",
    input: Schema.Struct({ location: City }),
    output: Weather,
    annotations: { readOnly: true, destructive: false, idempotent: true, openWorld: false }
  }),
  longRunning: Tool.define({
    name: "trigger-long-running-operation",
    description: "Wait `duration` seconds (default 10) in `steps` steps (default 5), reporting progress after each",
    input: Schema.Struct({
      duration: Schema.optionalKey(Schema.Finite),
      steps: Schema.optionalKey(Schema.Int)
    }),
    output: Schema.String,
    annotations: { readOnly: true, destructive: false, idempotent: true, openWorld: false }
  })
})

/**
 * Every contract of this module, for `gateway.checkContracts` and `requireContracts`.
 *
 * @example
 * ```ts
 * const mismatches = yield* gateway.checkContracts(referenceContracts) // => [] when nothing drifted
 * ```
 */
export const referenceContracts = Tool.contractsOf(Memory, Filesystem, Everything)

