/**
 * The MCP client transport for a stdio server on POSIX: the SDK's `StdioClientTransport`, except
 * that the server runs as the leader of a process group of its own (see `ProcessGroup.ts`), so
 * that what the server starts ends with it. Closing ends stdin, gives the server
 * {@link STDIN_GRACE_MS} to exit, then ends the group (SIGTERM, SIGKILL after
 * {@link TERM_GRACE_MS}); the group is also ended as soon as the server exits by itself. Same
 * environment rules as the SDK (`getDefaultEnvironment()` plus the configured variables).
 *
 * @example
 * ```ts
 * const transport = new GroupStdioTransport({ command: "node", args: ["server.js"], env: {} })
 * await new Client({ name: "x", version: "1" }).connect(transport)
 * ```
 * @module
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import { PassThrough } from "node:stream"
import { getDefaultEnvironment } from "@modelcontextprotocol/sdk/client/stdio.js"
import { ReadBuffer, serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js"
import { ProcessGroup } from "./ProcessGroup.ts"

/**
 * After stdin ends, how long the server may take to exit before its group is SIGTERMed.
 *
 * @example
 * ```ts
 * const worstClose = STDIN_GRACE_MS + TERM_GRACE_MS // then SIGKILL
 * ```
 */
export const STDIN_GRACE_MS = 1_000
/**
 * After SIGTERM, how long the group may take to exit before it is SIGKILLed.
 *
 * @example
 * ```ts
 * await group.end(TERM_GRACE_MS)
 * ```
 */
export const TERM_GRACE_MS = 2_000
/** After the group ended, how long its pipes may stay open (held by a process that left the group). */
const PIPES_GRACE_MS = 500

const within = (promise: Promise<void>, ms: number): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    void promise.then(() => {
      clearTimeout(timer)
      resolve()
    })
  })

/**
 * What to start: as the SDK's `StdioServerParameters`, stderr always piped.
 *
 * @example
 * ```ts
 * const params: GroupStdioParams = { command: "node", args: ["server.js"], env: { TOKEN: "…" }, cwd: "/srv" }
 * ```
 */
export interface GroupStdioParams {
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly env: Readonly<Record<string, string>>
  readonly cwd?: string | undefined
}

/**
 * A stdio server in a process group of its own (see the module doc).
 *
 * @example
 * ```ts
 * const transport = new GroupStdioTransport({ command: "node", args: ["server.js"], env: {} })
 * transport.stderr.on("data", (chunk) => process.stderr.write(chunk))
 * ```
 */
export class GroupStdioTransport implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage) => void

  /** The server's stderr (available before `start`, so nothing early is missed). */
  readonly stderr = new PassThrough()
  readonly #params: GroupStdioParams
  readonly #readBuffer = new ReadBuffer()
  #child: ChildProcessWithoutNullStreams | undefined
  #group: ProcessGroup | undefined
  #exited: Promise<void> = Promise.resolve()
  #closed: Promise<void> = Promise.resolve()
  #closing: Promise<void> | undefined
  #groupEnded: Promise<void> | undefined

  constructor(params: GroupStdioParams) {
    this.#params = params
  }

  /** The server's process id (the group id), once started. */
  get pid(): number | undefined {
    return this.#child?.pid
  }

  start(): Promise<void> {
    if (this.#child !== undefined) return Promise.reject(new Error("GroupStdioTransport already started"))
    return new Promise((resolve, reject) => {
      const child = spawn(this.#params.command, [...this.#params.args], {
        env: { ...getDefaultEnvironment(), ...this.#params.env },
        cwd: this.#params.cwd,
        stdio: ["pipe", "pipe", "pipe"],
        detached: true,
        shell: false
      })
      this.#child = child
      // Guarded at once (the pid is known when spawn returns): a close racing the start ends it too.
      if (child.pid !== undefined) this.#group = ProcessGroup.guard(child.pid)
      this.#exited = new Promise((done) => child.once("exit", () => done()))
      this.#closed = new Promise((done) => child.once("close", () => done()))
      child.once("spawn", () => resolve())
      child.on("error", (error) => {
        reject(error)
        this.onerror?.(error)
      })
      // The server exited by itself: what it left running in its group ends too.
      child.once("exit", () => void this.#endGroup())
      child.once("close", () => {
        this.#readBuffer.clear()
        this.onclose?.()
      })
      child.stdin.on("error", (error) => this.onerror?.(error))
      child.stdout.on("error", (error) => this.onerror?.(error))
      child.stdout.on("data", (chunk: Buffer) => {
        try {
          this.#readBuffer.append(chunk)
          for (let message = this.#readBuffer.readMessage(); message !== null; message = this.#readBuffer.readMessage()) {
            this.onmessage?.(message)
          }
        } catch (error) {
          this.onerror?.(error instanceof Error ? error : new Error(String(error)))
          void this.close()
        }
      })
      child.stderr.pipe(this.stderr)
    })
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      const stdin = this.#child?.stdin
      if (stdin === undefined || this.#closing !== undefined || !stdin.writable) {
        reject(new Error("Not connected"))
        return
      }
      if (stdin.write(serializeMessage(message))) resolve()
      else stdin.once("drain", resolve)
    })
  }

  /**
   * Ends stdin, waits up to {@link STDIN_GRACE_MS} for the server to exit, ends its group, and
   * resolves once the server's pipes are closed (bounded). Calling it again awaits the same close.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const child = this.#child
      if (child === undefined) return
      try {
        child.stdin.end()
      } catch {
        // already closed
      }
      await within(this.#exited, STDIN_GRACE_MS)
      await this.#endGroup()
    })()
    return this.#closing
  }

  /** Ends the group (once), then closes pipes a process outside the group may still hold. */
  #endGroup(): Promise<void> {
    this.#groupEnded ??= (async () => {
      const child = this.#child
      await this.#group?.end(TERM_GRACE_MS)
      await within(this.#closed, PIPES_GRACE_MS)
      child?.stdout.destroy()
      child?.stderr.destroy()
      child?.stdin.destroy()
      await within(this.#closed, PIPES_GRACE_MS)
    })()
    return this.#groupEnded
  }
}
