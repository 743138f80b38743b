/**
 * Why a `node:sqlite` call on a journal file failed, read from SQLite's message: the file is not
 * a database or is damaged, another process holds it, it cannot be opened, or some other I/O
 * failure. The run journal and the audit log (same file) both name their `JournalError` with it.
 *
 * @module
 */
import type { JournalError } from "../../../../dsl/ports/RunJournal.ts"

/**
 * The `JournalError` reason of a SQLite error message.
 *
 * @example
 * ```ts
 * failureReason("file is not a database") // => "Corrupt"
 * failureReason("database is locked")     // => "Locked"
 * ```
 */
export const failureReason = (message: string): Extract<JournalError["reason"], "Corrupt" | "Locked" | "Missing" | "Io"> =>
  /not a database|malformed|corrupt/i.test(message)
    ? "Corrupt"
    : /locked|busy/i.test(message)
    ? "Locked"
    : /unable to open|no such file|cannot open/i.test(message)
    ? "Missing"
    : "Io"
