/**
 * Splits a byte stream into lines and keeps track of where each one ends in the file, so that an import can
 * record "everything up to byte N is committed" and continue there later. No I/O: chunks are pushed in.
 * Lines are decoded as UTF-8; a line that is not valid UTF-8 is reported as such instead of being decoded
 * with replacement characters.
 */
import { isUtf8 } from 'node:buffer';

export interface Line {
  /** The line without its "\n" (a "\r" before it is kept; parsers strip it). */
  readonly text: string;
  /** 1-based line number. */
  readonly no: number;
  /** Byte offset where the line starts, and just after its "\n" (or the end of the data). */
  readonly start: number;
  readonly end: number;
  /** False when the bytes were not valid UTF-8 (`text` then holds a lossy decoding, for messages only). */
  readonly utf8: boolean;
}

export class LineTooLongError extends Error {
  override name = 'LineTooLongError';
}

export class LineSplitter {
  /** Bytes of an unfinished line carried over from earlier chunks. */
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private offset: number;
  private lineNo: number;

  /**
   * @param startOffset byte offset of the first byte that will be pushed (non-zero when resuming)
   * @param startLine number of the first line that will be pushed
   * @param maxLineBytes longest line accepted; longer ones throw LineTooLongError (a binary file, say)
   */
  constructor(
    startOffset = 0,
    startLine = 1,
    readonly maxLineBytes = 16 * 1024 * 1024,
  ) {
    this.offset = startOffset;
    this.lineNo = startLine;
  }

  /** Byte offset just after the last complete line returned. */
  get position(): number {
    return this.offset;
  }

  /** Number the next line will get. */
  get nextLine(): number {
    return this.lineNo;
  }

  /** Returns the complete lines in `chunk` (plus what was carried over); keeps the unfinished rest. */
  push(chunk: Buffer): Line[] {
    const out: Line[] = [];
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(10, from);
      if (nl < 0) break;
      let bytes = chunk.subarray(from, nl);
      if (this.carryBytes > 0) {
        bytes = Buffer.concat([...this.carry, bytes]);
        this.carry = [];
        this.carryBytes = 0;
      }
      this.check(bytes.length);
      out.push(this.make(bytes, 1));
      from = nl + 1;
    }
    if (from < chunk.length) {
      this.carry.push(chunk.subarray(from));
      this.carryBytes += chunk.length - from;
      this.check(this.carryBytes);
    }
    return out;
  }

  /** The last line when the data does not end with a newline; call once at the end. */
  end(): Line | undefined {
    if (this.carryBytes === 0) return undefined;
    const bytes = Buffer.concat(this.carry);
    this.carry = [];
    this.carryBytes = 0;
    return this.make(bytes, 0);
  }

  private check(len: number): void {
    if (len > this.maxLineBytes)
      throw new LineTooLongError(
        `line ${this.lineNo} is longer than ${this.maxLineBytes} bytes; is this a text exposition file?`,
      );
  }

  private make(bytes: Buffer, terminator: number): Line {
    const start = this.offset;
    const end = start + bytes.length + terminator;
    const text = bytes.toString('utf8');
    // Pure ASCII decodes to as many characters as bytes and without U+FFFD: then isUtf8 is not needed.
    const utf8 = (text.length === bytes.length && text.indexOf('\uFFFD') < 0) || isUtf8(bytes);
    const line: Line = { text, no: this.lineNo, start, end, utf8 };
    this.offset = end;
    this.lineNo++;
    return line;
  }
}
