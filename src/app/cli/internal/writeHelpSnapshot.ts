/**
 * Build step (`npm run build`): writes `dist/help-snapshot.json`, the help and version output the
 * `mcpflow` bin answers without loading the CLI (see `FastPath.ts`).
 *
 * @example
 * ```sh
 * node dist/src/app/cli/internal/writeHelpSnapshot.js
 * ```
 * @module
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Effect from "effect/Effect"
import { writeFileSync } from "node:fs"
import { renderHelpSnapshot } from "./HelpSnapshot.ts"

/**
 * Where the snapshot goes: `help-snapshot.json` at the root of `dist/` (this module is
 * `dist/src/app/cli/internal/writeHelpSnapshot.js` once built).
 *
 * @example
 * ```ts
 * snapshotFile.pathname.endsWith("/dist/help-snapshot.json") // => true once built
 * ```
 */
export const snapshotFile = new URL("../../../../help-snapshot.json", import.meta.url)

NodeRuntime.runMain(
  renderHelpSnapshot.pipe(
    Effect.flatMap((snapshot) => Effect.sync(() => writeFileSync(snapshotFile, `${JSON.stringify(snapshot)}\n`))),
    Effect.provide(NodeServices.layer)
  )
)
