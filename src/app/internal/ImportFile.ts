/**
 * Imports a user's module file (a flow file, a chaos suite) by path. A TypeScript file is loaded
 * through tsx, registered on first use only: the compiled CLI runs on plain Node and pays for
 * tsx only when it is given a `.ts` file.
 *
 * @example
 * ```ts
 * import { importFile } from "../internal/ImportFile.ts"
 * const module = await importFile("flows/cicd.ts") // its exports, e.g. module["default"]
 * ```
 * @module
 */
import { pathToFileURL } from "node:url"

const typeScript = /\.[cm]?tsx?$/

let tsxRegistered: Promise<void> | undefined

const registerTsx = (): Promise<void> =>
  (tsxRegistered ??= import("tsx/esm/api").then(({ register }) => void register()))

/**
 * The URL `file` (relative to the working directory) is imported from.
 *
 * @example
 * ```ts
 * fileUrl("flows/cicd.ts") // => "file:///…/flows/cicd.ts"
 * ```
 */
export const fileUrl = (file: string): string => pathToFileURL(file).href

/**
 * Imports `file` (relative to the working directory), registering tsx first when it is a
 * TypeScript file. Rejects as `import()` does (e.g. `ERR_MODULE_NOT_FOUND`).
 *
 * @example
 * ```ts
 * const module = await importFile("flows/cicd.ts")
 * ```
 */
export const importFile = async (file: string): Promise<Record<string, unknown>> => {
  if (typeScript.test(file)) await registerTsx()
  return import(fileUrl(file)) as Promise<Record<string, unknown>>
}
