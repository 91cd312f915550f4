/** Text sent to the embedder (SPEC §3.6): no NUL, line breaks as spaces, trimmed, at most 8,000 chars. */
export function embeddingInput(text: string): string {
  return text.replaceAll("\u0000", "").replace(/[\r\n]+/g, " ").trim().slice(0, 8000);
}
