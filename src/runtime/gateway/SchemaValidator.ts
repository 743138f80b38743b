/**
 * One JSON Schema validator for every MCP client the gateway opens. The SDK checks each tool's
 * result against the `outputSchema` it published; by default every `Client` builds its own Ajv
 * instance and compiles every schema again on each connection (reconnects, chaos runs). This
 * one compiles each distinct schema once per process.
 *
 * @module
 */
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv-provider.js"
import type { JsonSchemaType, JsonSchemaValidator, jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js"

const maxSchemas = 2_000

/**
 * A validator provider that caches compiled validators by the schema's JSON text.
 *
 * @example
 * ```ts
 * new Client(info, { capabilities: {}, jsonSchemaValidator: sharedValidator })
 * ```
 */
export const sharedValidator: jsonSchemaValidator = (() => {
  const ajv = new AjvJsonSchemaValidator()
  const compiled = new Map<string, JsonSchemaValidator<unknown>>()
  return {
    getValidator: <T>(schema: JsonSchemaType): JsonSchemaValidator<T> => {
      const key = JSON.stringify(schema)
      let validator = compiled.get(key)
      if (validator === undefined) {
        if (compiled.size >= maxSchemas) compiled.clear()
        validator = ajv.getValidator<unknown>(schema)
        compiled.set(key, validator)
      }
      return validator as JsonSchemaValidator<T>
    }
  }
})()
