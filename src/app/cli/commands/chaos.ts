/**
 * `mcpflow chaos flows/x.ts`: runs the flow a file exports by default against its fake servers
 * under generated fault plans, in virtual time, and checks the invariants. The servers come from
 * the flow's chaos suite (`ChaosSuite`: model-backed servers, input, invariants, settings) — the
 * flow file's `chaos` export, else the `chaos` export of its sibling `x.chaos.ts` — or else its
 * `sandbox`. The suite file itself may be named (`mcpflow chaos flows/x.chaos.ts`). The work is
 * in `internal/chaos.ts`, loaded when the command runs.
 *
 * Exit codes: 0 every invariant held, 1 a violation, 2 bad usage (unknown fault kind, no flow,
 * no servers, malformed token).
 *
 * @example
 * ```sh
 * mcpflow chaos flows/order.ts --runs 500 --seed 42
 * mcpflow chaos flows/cicd.chaos.ts --faults latency,drop,lost-response --rate 0.2 --junit chaos.xml
 * mcpflow chaos flows/order.ts --replay 'eyJzZWVkIjo…'
 * ```
 * @module
 */
import { Command } from "effect/cli"
import * as Flags from "../Flags.ts"
import { lazyHandler } from "./lazyHandler.ts"

/**
 * `mcpflow chaos <flow.ts|flow.chaos.ts> [--runs n] [--seed n] [--faults kinds] [--rate p] [--json] [--junit file] [--replay token] [--input json] [--workers n]`.
 *
 * @example
 * ```ts
 * Command.make("mcpflow").pipe(Command.withSubcommands([chaos]))
 * ```
 */
export const chaos = Command.make(
  "chaos",
  {
    file: Flags.flowFile,
    runs: Flags.runs,
    seed: Flags.seed,
    faults: Flags.faults,
    rate: Flags.rate,
    json: Flags.json,
    junit: Flags.junit,
    replay: Flags.replay,
    input: Flags.input,
    workers: Flags.workers
  },
  lazyHandler(() => import("./internal/chaos.ts").then((m) => m.chaos))
).pipe(
  Command.withShortDescription("Run a flow under generated faults and check its invariants"),
  Command.withDescription(
    "Run the flow a file exports by default against fake servers that misbehave on purpose (latency, hangs, errors, dropped connections, lost responses, …), deterministically and in virtual time, and check its invariants: a typed outcome, no hang, saga atomicity, no duplicated non-idempotent request, bulkhead bounds, and the suite's own. The servers come from the flow's chaos suite (its file's `chaos` export, else the `chaos` export of the sibling x.chaos.ts; naming x.chaos.ts works too), else its `sandbox`. A violation is shrunk to a minimal fault plan and printed with its seed, the faults that fired, the run's step tree and the command that replays it. With --json, the summary (and any counterexample) as one JSON document. Exit codes: 0 every invariant held, 1 a violation, 2 bad usage."
  ),
  Command.withExamples([
    { command: "mcpflow chaos flows/cicd.ts --runs 500 --seed 42", description: "500 fault plans from seed 42" },
    { command: "mcpflow chaos flows/cicd.ts --faults latency,drop,lost-response --rate 0.2", description: "Only these faults, each at 20 %" },
    { command: "mcpflow chaos flows/cicd.chaos.ts --json --junit chaos.xml", description: "For CI, naming the suite file" },
    { command: "mcpflow chaos flows/cicd.ts --runs 5000 --workers 4", description: "Runs on 4 threads: the main one and 3 workers (same report as on 1)" },
    { command: "mcpflow chaos flows/cicd.ts --replay 'eyJzZWVkIjo…'", description: "Re-run one failing case with its event trace" }
  ])
)
