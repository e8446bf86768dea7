/**
 * "Did you mean …?" for misspelt keys and enum values. A migration file is hand-written JSON, and
 * the cheapest fix for a typo is to name the intended spelling.
 */

/** Levenshtein distance between two strings, compared case-insensitively. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let previous = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const current = [i];
    for (let j = 1; j <= t.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (s[i - 1] === t[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[t.length] ?? 0;
}

/**
 * Candidates close enough to `input` to be what the user meant, closest first. A candidate that
 * contains the input (or the reverse) also counts, so a truncated key like `dbs` still finds
 * `dbsToMigrate`.
 */
export function closest(input: string, candidates: readonly string[], limit = 3): string[] {
  const folded = input.toLowerCase();
  const threshold = Math.max(2, Math.floor(input.length / 3));
  return candidates
    .map((candidate) => {
      const lower = candidate.toLowerCase();
      const contains = folded.length >= 3 && (lower.includes(folded) || folded.includes(lower));
      const distance = editDistance(folded, lower);
      return { candidate, distance, close: distance <= threshold || contains };
    })
    .filter((c) => c.close)
    .sort((x, y) => x.distance - y.distance)
    .slice(0, limit)
    .map((c) => c.candidate);
}

/** `"a"`, `"a" or "b"`, `"a", "b" or "c"`. */
export function quoteList(values: readonly string[], conjunction = 'or'): string {
  const quoted = values.map((v) => `"${v}"`);
  if (quoted.length <= 1) return quoted.join('');
  return `${quoted.slice(0, -1).join(', ')} ${conjunction} ${quoted[quoted.length - 1]}`;
}
