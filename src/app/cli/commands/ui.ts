/**
 * `mcpflow ui`: the run viewer, a local web page over the run history — the runs with the
 * history filters, and one run's steps as a live tree and a timeline, its plan, its input and
 * its audit entries. The work is in `internal/ui.ts` (and `src/app/viewer/`), loaded when the
 * command runs.
 *
 * @example
 * ```sh
 * npx mcpflow ui                      # http://127.0.0.1:7070/
 * npx mcpflow ui --port 0             # any free port; the URL is printed
 * npx mcpflow ui --state-dir ci/.mcpflow
 * ```
 * @module
 */
import { Command, Flag } from "effect/cli"
import * as Flags from "../Flags.ts"
import { lazyHandler } from "./lazyHandler.ts"

/**
 * `--port <n>`: where the viewer listens (default 7070; `0` picks a free port).
 *
 * @example
 * ```ts
 * Command.make("ui", { port }, ({ port }) => …)
 * ```
 */
export const port: Flag.Flag<number> = Flags.wholeNumber("port", "port", (n) => n >= 0 && n <= 65_535, "a port from 0 to 65535").pipe(
  Flag.withDescription("The port to listen on (default 7070; 0 picks a free one, the URL says which)"),
  Flag.withDefault(7070)
)

/**
 * `--host <address>`: the address to listen on (default 127.0.0.1: this machine only).
 *
 * @example
 * ```ts
 * Command.make("ui", { host }, ({ host }) => …)
 * ```
 */
export const host: Flag.Flag<string> = Flag.String("host").pipe(
  Flag.withMetavar("address"),
  Flag.withDescription(
    "The address to listen on (default 127.0.0.1, this machine only). Another address shows your runs' redacted inputs and errors to anyone who can reach it"
  ),
  Flag.withDefault("127.0.0.1")
)

/**
 * `mcpflow ui [--state-dir] [--port] [--host]`.
 *
 * @example
 * ```ts
 * Command.make("mcpflow").pipe(Command.withSubcommands([ui]))
 * ```
 */
export const ui = Command.make(
  "ui",
  { stateDir: Flags.stateDir, database: Flags.historyDatabase, port, host },
  lazyHandler(() => import("./internal/ui.ts").then((m) => m.ui))
).pipe(
  Command.withShortDescription("Serve a local page to browse runs"),
  Command.withDescription(
    "Serve the run viewer on http://127.0.0.1:7070/ (loopback only unless --host says otherwise) until Ctrl-C: the runs journaled in the state directory, filtered like mcpflow runs (flow, status, since, limit), and one run's steps as a live tree and a timeline (durations, retries, compensations, replayed steps, failures), its plan drawn from the Mermaid source, its input (redacted fields stay redacted) and its audit entries. Unfinished runs update live. With --database postgres://… (or MCPFLOW_DATABASE_URL), the runs of a cluster from its Postgres journal (no audit panel there yet). Nothing is loaded from the network. Exit 1 when the port is taken."
  )
)
