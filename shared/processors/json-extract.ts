/**
 * Getting one JSON object out of a model's reply: code fences stripped, prose around the object
 * ignored, the first balanced top-level object taken.
 */

/** Removes ``` / ```json fences, keeping what is inside them. */
export function stripFences(text: string): string {
  const m = text.match(/```(?:json|JSON)?\s*\n?([\s\S]*?)```/);
  return (m ? m[1]! : text).trim();
}

/**
 * The first balanced `{...}` (or `[...]` when `array`) in `text`, parsed; null when there is none
 * or it does not parse.
 */
export function extractJson(text: string, array = false): unknown | null {
  const s = stripFences(text);
  const open = array ? "[" : "{", close = array ? "]" : "}";
  for (let start = s.indexOf(open); start >= 0; start = s.indexOf(open, start + 1)) {
    let depth = 0, inStr = false, esc = false;
    for (let i = start; i < s.length; i++) {
      const c = s[i];
      if (inStr) {
        if (esc) esc = false;
        else if (c === "\\") esc = true;
        else if (c === '"') inStr = false;
        continue;
      }
      if (c === '"') inStr = true;
      else if (c === "{" || c === "[") depth++;
      else if (c === "}" || c === "]") {
        depth--;
        if (depth === 0) {
          if (c !== close) break;
          try {
            return JSON.parse(s.slice(start, i + 1));
          } catch {
            break;
          }
        }
      }
    }
    // Still open at the end: the reply was cut off, and any object after `start` is a fragment of it.
    if (depth > 0) return null;
  }
  return null;
}
