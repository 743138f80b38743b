/**
 * The flags of the run history commands (`runs`, `show`, `cancel`, `prune`): filters, follow,
 * ages. Like `Flags.ts`, this module loads nothing but `effect`.
 *
 * @example
 * ```ts
 * import { Command } from "effect/cli"
 * import * as HistoryFlags from "./HistoryFlags.ts"
 *
 * const runs = Command.make("runs", { flow: HistoryFlags.flow, limit: HistoryFlags.limit }, (input) => …)
 * ```
 * @module
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Result from "effect/Result"
import { CliError, Flag } from "effect/cli"
import { parseDuration, wholeNumber } from "./Flags.ts"
import { runStatuses } from "../run/RunStatus.ts"

const invalid = (option: string, value: string, expected: string) =>
  new CliError.InvalidValue({ option, value, expected, kind: "flag" })

/**
 * Reads an age: what `parseDuration` reads, plus days and weeks (`7d`, `2w`).
 *
 * @example
 * ```ts
 * parseAge("7d") // => Result.succeed(Duration.days(7))
 * parseAge("2h") // => Result.succeed(Duration.hours(2))
 * ```
 */
export const parseAge = (text: string): Result.Result<Duration.Duration, string> => {
  const match = /^(\d+(?:\.\d+)?)\s*(d|w)$/.exec(text.trim())
  if (match !== null && Number(match[1]) > 0) {
    return Result.succeed(Duration.millis(Number(match[1]) * (match[2] === "w" ? 7 : 1) * 86_400_000))
  }
  return Result.mapError(parseDuration(text), () => "a positive duration such as 30m, 2h, 7d or 2w")
}

const age = (name: string) =>
  Flag.mapEffect((text: string) =>
    Result.match(parseAge(text), {
      onSuccess: Effect.succeed,
      onFailure: (expected) => Effect.fail(invalid(name, text, expected))
    })
  )

/**
 * `--flow <name>`: only the runs of this flow.
 *
 * @example
 * ```ts
 * Command.make("runs", { flow: HistoryFlags.flow }, ({ flow }) => …)
 * ```
 */
export const flow: Flag.Flag<Option.Option<string>> = Flag.String("flow").pipe(
  Flag.withMetavar("name"),
  Flag.withDescription("Only the runs of this flow"),
  Flag.optional
)

/**
 * `--status <status>`: only the runs with this status (as `runs` shows it).
 *
 * @example
 * ```ts
 * Command.make("runs", { status: HistoryFlags.status }, ({ status }) => …)
 * ```
 */
export const status = Flag.Literals("status", runStatuses).pipe(
  Flag.withDescription(
    "Only the runs with this status: running (a live process runs it), sleeping/waiting (parked on Flow.sleep/Flow.waitFor), crashed (unfinished, no live process), cancelled, interrupted, succeeded, failed"
  ),
  Flag.optional
)

/**
 * `--since <age>`: only the runs started within this age (`2h`, `7d`).
 *
 * @example
 * ```ts
 * Command.make("runs", { since: HistoryFlags.since }, ({ since }) => …)
 * ```
 */
export const since: Flag.Flag<Option.Option<Duration.Duration>> = Flag.String("since").pipe(
  Flag.withMetavar("age"),
  Flag.withDescription("Only the runs started within this age: 30m, 2h, 7d, 2w"),
  age("since"),
  Flag.optional
)

/**
 * `--limit <n>`: at most this many runs (newest first).
 *
 * @example
 * ```ts
 * Command.make("runs", { limit: HistoryFlags.limit }, ({ limit }) => …)
 * ```
 */
export const limit: Flag.Flag<Option.Option<number>> = wholeNumber("limit", "n", (n) => n > 0, "a whole number, at least 1").pipe(
  Flag.withDescription("At most this many runs, newest first"),
  Flag.optional
)

/**
 * `--follow` (`-f`): keep printing the run's events until it ends (`show`).
 *
 * @example
 * ```ts
 * Command.make("show", { follow: HistoryFlags.follow }, ({ follow }) => …)
 * ```
 */
export const follow: Flag.Flag<boolean> = Flag.Boolean("follow").pipe(
  Flag.withAlias("f"),
  Flag.withDescription(
    "Follow a run another process is running: print its events as the journal records them, until it ends (polls the journal every 250 ms)"
  ),
  Flag.withDefault(false)
)

/**
 * `--older-than <age>` (required): prune the runs that finished before this age.
 *
 * @example
 * ```ts
 * Command.make("prune", { olderThan: HistoryFlags.olderThan }, ({ olderThan }) => …)
 * ```
 */
export const olderThan: Flag.Flag<Duration.Duration> = Flag.String("older-than").pipe(
  Flag.withMetavar("age"),
  Flag.withDescription("Delete the finished runs (not unfinished ones) that finished longer ago than this: 30m, 2h, 7d, 2w"),
  age("older-than")
)

/**
 * `--wait <duration>`: how long `cancel` waits for the process running the run to stop it.
 *
 * @example
 * ```ts
 * Command.make("cancel", { wait: HistoryFlags.wait }, ({ wait }) => …)
 * ```
 */
export const wait: Flag.Flag<Duration.Duration> = Flag.String("wait").pipe(
  Flag.withMetavar("duration"),
  Flag.withDescription(
    "How long to wait for the process running the run to interrupt it and run its compensations (default: 30s)"
  ),
  age("wait"),
  Flag.withDefault(Duration.seconds(30))
)

/**
 * `--run <id>`: only the audit entries of this run (any unique prefix of its id).
 *
 * @example
 * ```ts
 * Command.make("audit", { run: HistoryFlags.run }, ({ run }) => …)
 * ```
 */
export const run: Flag.Flag<Option.Option<string>> = Flag.String("run").pipe(
  Flag.withMetavar("id"),
  Flag.withDescription("Only the entries of this run (its id or any unique prefix of it)"),
  Flag.optional
)

/**
 * `--retain <age>`: the audit retention; entries older than this are deleted (`prune`, `audit`).
 *
 * @example
 * ```ts
 * Command.make("prune", { retain: HistoryFlags.retain }, ({ retain }) => …)
 * ```
 */
export const retain: Flag.Flag<Option.Option<Duration.Duration>> = Flag.String("retain").pipe(
  Flag.withMetavar("age"),
  Flag.withDescription(
    "Audit retention: delete the audit entries older than this age (90d, 12w); default MCPFLOW_AUDIT_RETAIN, else keep them all"
  ),
  age("retain"),
  Flag.optional
)
