/**
 * A stream's output kept under a byte cap: the first half of the cap and the last half, with
 * a marker saying how much was left out in between (the start of a log says what ran, its end
 * says how it went). Memory stays bounded however much a command writes.
 *
 * @example
 * ```ts
 * const out = new CappedOutput(10)
 * out.push(Buffer.from("0123456789abcdef"))
 * out.truncated // => true
 * out.text()    // => "01234\n[… 6 bytes omitted: output cap of 10 bytes per stream …]\nbcdef"
 * ```
 * @module
 */

/**
 * Output of one stream, capped at `cap` bytes.
 *
 * @example
 * ```ts
 * const out = new CappedOutput(1024)
 * child.stdout.on("data", (chunk: Buffer) => out.push(chunk))
 * ```
 */
export class CappedOutput {
  /** Every byte seen, kept or not. */
  totalBytes = 0
  readonly #headCap: number
  readonly #tailCap: number
  readonly #head: Array<Buffer> = []
  #headBytes = 0
  readonly #tail: Array<Buffer> = []
  #tailBytes = 0
  readonly cap: number

  constructor(cap: number) {
    this.cap = Math.max(0, Math.floor(cap))
    this.#headCap = Math.ceil(this.cap / 2)
    this.#tailCap = this.cap - this.#headCap
  }

  /** How many bytes are kept (at most `cap`): the rest was dropped as it arrived. */
  get keptBytes(): number {
    return this.#headBytes + this.#tailBytes
  }

  /** Whether some output was left out. */
  get truncated(): boolean {
    return this.totalBytes > this.cap
  }

  /** Takes one chunk. */
  push(chunk: Buffer): void {
    this.totalBytes += chunk.length
    let rest = chunk
    if (this.#headBytes < this.#headCap) {
      // Copies: a kept slice must not retain the whole chunk it came from.
      const take = Buffer.from(rest.subarray(0, this.#headCap - this.#headBytes))
      this.#head.push(take)
      this.#headBytes += take.length
      rest = rest.subarray(take.length)
    }
    if (rest.length === 0) return
    if (rest.length >= this.#tailCap) {
      this.#tail.length = 0
      this.#tail.push(Buffer.from(rest.subarray(rest.length - this.#tailCap)))
      this.#tailBytes = this.#tailCap
      return
    }
    this.#tail.push(Buffer.from(rest))
    this.#tailBytes += rest.length
    while (this.#tailBytes > this.#tailCap) {
      const first = this.#tail[0]!
      const excess = this.#tailBytes - this.#tailCap
      if (first.length <= excess) {
        this.#tail.shift()
        this.#tailBytes -= first.length
      } else {
        this.#tail[0] = first.subarray(excess)
        this.#tailBytes -= excess
      }
    }
  }

  /** The kept output as UTF-8 text, with the marker where output was left out. */
  text(): string {
    const head = Buffer.concat(this.#head).toString("utf8")
    const tail = Buffer.concat(this.#tail).toString("utf8")
    if (!this.truncated) return head + tail
    const omitted = this.totalBytes - this.#headBytes - this.#tailBytes
    return `${head}\n[… ${omitted} bytes omitted: output cap of ${this.cap} bytes per stream …]\n${tail}`
  }
}
