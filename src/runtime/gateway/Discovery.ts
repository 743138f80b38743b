/**
 * Compares declared tool contracts with what a server publishes in `tools/list`.
 *
 * @module
 */
import type { Tool as McpTool } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Schema } from "effect"
import type { ContractInfo } from "../../../dsl/Contract.ts"
import { type ContractMismatch, McpGateway } from "../../../dsl/ports/McpGateway.ts"

interface ObjectShape {
  readonly properties: ReadonlySet<string>
  readonly required: ReadonlySet<string>
  /** False when the schema says nothing about its properties (then any field may be fine). */
  readonly known: boolean
  /** The JSON type of each property that names one (`integer` counted as `number`). */
  readonly types: ReadonlyMap<string, string>
}

const shapeOf = (schema: unknown): ObjectShape => {
  const s = (typeof schema === "object" && schema !== null ? schema : {}) as {
    readonly properties?: unknown
    readonly required?: unknown
  }
  const properties = typeof s.properties === "object" && s.properties !== null ? Object.keys(s.properties) : []
  const required = Array.isArray(s.required) ? s.required.filter((r): r is string => typeof r === "string") : []
  const types = new Map<string, string>()
  if (typeof s.properties === "object" && s.properties !== null) {
    for (const [name, property] of Object.entries(s.properties)) {
      const type = typeof property === "object" && property !== null ? (property as { type?: unknown }).type : undefined
      if (typeof type === "string") types.set(name, type === "integer" ? "number" : type)
    }
  }
  return { properties: new Set(properties), required: new Set(required), known: s.properties !== undefined, types }
}

/**
 * The mismatches between one contract and a server's published tools: the tool is missing,
 * the server requires an input field the contract does not always send, the contract
 * requires a field the server does not know, an input field's JSON type differs, or (when the
 * server publishes an `outputSchema`) the contract expects an output field the server does not
 * have or of another type.
 *
 * @example
 * ```ts
 * compareContract(Fs.read, [{ name: "read_file", inputSchema: { type: "object", required: ["path"] } }])
 * ```
 */
export const compareContract = (
  contract: ContractInfo,
  published: ReadonlyArray<McpTool>
): ReadonlyArray<ContractMismatch> => {
  const tool = published.find((t) => t.name === contract.tool)
  const base = { server: contract.server, tool: contract.tool }
  if (tool === undefined) {
    const names = published.map((t) => t.name)
    return [{
      ...base,
      kind: "MissingTool",
      detail: `the server does not publish '${contract.tool}' (it publishes: ${names.length ? names.join(", ") : "nothing"})`
    }]
  }
  const server = shapeOf(tool.inputSchema)
  const ours = shapeOf(contract.inputJsonSchema())
  const mismatches: Array<ContractMismatch> = []
  for (const field of server.required) {
    if (!ours.required.has(field)) {
      mismatches.push({
        ...base,
        kind: "MissingRequiredInput",
        field,
        detail: ours.properties.has(field)
          ? `the server requires '${field}' but the contract makes it optional`
          : `the server requires '${field}' but the contract does not declare it`
      })
    }
  }
  if (server.known) {
    for (const field of ours.required) {
      if (!server.properties.has(field)) {
        mismatches.push({
          ...base,
          kind: "UnknownInputField",
          field,
          detail: `the contract requires '${field}' but the server's input schema does not have it`
        })
      }
    }
  }
  for (const [field, type] of ours.types) {
    const theirs = server.types.get(field)
    if (theirs !== undefined && theirs !== type) {
      mismatches.push({
        ...base,
        kind: "InputTypeChanged",
        field,
        detail: `'${field}' is ${article(theirs)} on the server but ${article(type)} in the contract`
      })
    }
  }
  if (tool.outputSchema !== undefined) {
    const theirOut = shapeOf(tool.outputSchema)
    const ourOut = shapeOf(contract.outputJsonSchema())
    if (theirOut.known && ourOut.known) {
      for (const field of ourOut.required) {
        if (!theirOut.properties.has(field)) {
          mismatches.push({
            ...base,
            kind: "OutputChanged",
            field,
            detail: `the contract expects output field '${field}' but the server's output schema does not have it`
          })
        }
      }
      for (const [field, type] of ourOut.types) {
        const theirs = theirOut.types.get(field)
        if (theirs !== undefined && theirs !== type) {
          mismatches.push({
            ...base,
            kind: "OutputChanged",
            field,
            detail: `output field '${field}' is ${article(theirs)} on the server but ${article(type)} in the contract`
          })
        }
      }
    }
  }
  return mismatches
}

const article = (type: string) => `${/^[aeiou]/.test(type) ? "an" : "a"} ${type}`

/**
 * Raised by {@link requireContracts} when contracts and servers disagree.
 *
 * @example
 * ```ts
 * Effect.catchTag("ContractMismatchError", (e) => Console.error(e.message))
 * ```
 */
export class ContractMismatchError extends Schema.TaggedError<ContractMismatchError>()("ContractMismatchError", {
  mismatches: Schema.Array(Schema.Struct({
    kind: Schema.Literals(["ServerUnreachable", "MissingTool", "MissingRequiredInput", "UnknownInputField", "InputTypeChanged", "OutputChanged"]),
    server: Schema.String,
    tool: Schema.String,
    field: Schema.optional(Schema.String),
    detail: Schema.String
  }))
}) {
  override get message(): string {
    return `${this.mismatches.length} contract mismatch(es):\n${
      this.mismatches.map((m) => `  ${m.server}.${m.tool}: ${m.detail}`).join("\n")
    }`
  }
}

/**
 * Checks contracts against their servers and fails on any mismatch; use
 * `gateway.checkContracts` instead to get the mismatches as warnings.
 *
 * @example
 * ```ts
 * yield* requireContracts(Tool.contractsOf(Everything, Filesystem))
 * ```
 */
export const requireContracts = (contracts: ReadonlyArray<ContractInfo>) =>
  McpGateway.use((gateway) => gateway.checkContracts(contracts)).pipe(
    Effect.flatMap((mismatches) =>
      mismatches.length === 0 ? Effect.void : Effect.fail(new ContractMismatchError({ mismatches }))
    )
  )
