/**
 * Generated blocks inside hand-written Markdown: text between `<!-- name -->` and `<!-- /name -->` is
 * replaced on every run, everything else is kept.
 */

/**
 * Puts `block` between the markers `<!-- marker -->` / `<!-- /marker -->`. When the markers exist anywhere in
 * `text`, only what is between them changes. Otherwise the block goes at the end of the section whose heading
 * line is `heading` (or starts with `## ` and contains `heading`), right under a `# ` title, or — when there is
 * no such heading — into a new `## heading` section at the end.
 */
export function replaceMarkedBlock(text: string, heading: string, marker: string, block: string): string {
  const open = `<!-- ${marker} -->`;
  const close = `<!-- /${marker} -->`;
  const wrapped = `${open}\n\n${block.trim()}\n\n${close}`;
  const a = text.indexOf(open);
  const b = a < 0 ? -1 : text.indexOf(close, a);
  if (a >= 0 && b > a) return text.slice(0, a) + wrapped + text.slice(b + close.length);

  const lines = text.trimEnd().split('\n');
  const level = /^#+/.exec(heading)?.[0].length;
  // Lines inside fenced code blocks are never headings (a `# comment` in printed output, say).
  const fenced = inFence(lines);
  const at = lines.findIndex(
    (l, i) => !fenced[i] && (l.trim() === heading || (l.startsWith('## ') && l.includes(heading))),
  );
  if (at < 0) return `${lines.join('\n')}\n\n## ${heading.replace(/^#+\s*/, '')}\n\n${wrapped}\n`;
  if (level === 1) {
    // Right under the document title.
    lines.splice(at + 1, 0, '', wrapped);
    return lines.join('\n').replace(/\n{3,}/g, '\n\n') + '\n';
  }
  let end = lines.findIndex((l, i) => i > at && !fenced[i] && /^#{1,2} /.test(l));
  if (end < 0) end = lines.length;
  const before = lines.slice(0, end).join('\n').trimEnd();
  const after = lines.slice(end).join('\n');
  return `${before}\n\n${wrapped}\n${after ? '\n' + after + '\n' : ''}`;
}

/** For each line, whether it lies inside (or opens or closes) a fenced code block (``` or ~~~). */
function inFence(lines: readonly string[]): boolean[] {
  const out: boolean[] = [];
  let fence: string | undefined;
  for (const l of lines) {
    const m = /^\s{0,3}(`{3,}|~{3,})/.exec(l);
    if (fence === undefined && m) {
      fence = m[1]![0]!.repeat(m[1]!.length);
      out.push(true);
    } else if (fence !== undefined) {
      out.push(true);
      if (m && m[1]!.startsWith(fence)) fence = undefined;
    } else out.push(false);
  }
  return out;
}
