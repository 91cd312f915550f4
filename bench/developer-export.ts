/**
 * A developer-style ChatGPT export for looking at the offline analyser's output: questions with
 * pasted code, stack traces and framework names, mostly about a React + TypeScript front end on
 * a Postgres-backed Node API, some Docker and Python. Deterministic by seed.
 *   deno run -A bench/developer-export.ts [out.json] [--conversations 160]
 */
import { rng } from "../tools/export-generator.ts";

const Q = [
  "My React component re-renders forever. Here's the code:\n```tsx\nconst [items, setItems] = useState<Item[]>([]);\nuseEffect(() => { fetch('/api/items').then(r => r.json()).then(setItems); });\n```\nWhat am I missing?",
  "Getting this in the browser console, no idea why:\n```\nTypeError: Cannot read properties of undefined (reading 'map')\n    at ItemList (ItemList.tsx:14:23)\n    at renderWithHooks (react-dom.development.js:14985:18)\n```\nitems should be an array by then?",
  "How do I type a generic fetch helper in TypeScript so the caller gets the right return type?",
  "Postgres query is slow, 4 seconds on 2M rows:\n```sql\nSELECT * FROM orders WHERE customer_id = $1 AND created_at > now() - interval '30 days' ORDER BY created_at DESC;\n```\nWhich index should I add?",
  "Is a composite index on (customer_id, created_at) better than two separate indexes in Postgres?",
  'My Express route returns 500 with `error: duplicate key value violates unique constraint "users_email_key"`. How do I turn that into a 409 properly?',
  'Docker build takes ages because npm install runs every time. Dockerfile:\n```dockerfile\nFROM node:20\nCOPY . .\nRUN npm install\nCMD ["node", "dist/server.js"]\n```\nHow do I cache the dependencies layer?',
  "docker compose up fails with `connect ECONNREFUSED 127.0.0.1:5432` from the api container. Postgres is in the same compose file.",
  "Can you explain the difference between useMemo and useCallback with a small example?",
  "Writing a Jest test for a hook that calls fetch, how do I mock fetch cleanly in TypeScript?",
  "Python script to clean a CSV with pandas, dates come in three formats:\n```python\nimport pandas as pd\ndf = pd.read_csv('export.csv')\ndf['date'] = pd.to_datetime(df['date'])\n```\nit throws `ValueError: time data '03/04/2023' does not match format`",
  "What's the idiomatic way to handle errors in async Express middleware in TypeScript?",
  "Migration question: adding a NOT NULL column to a big Postgres table without locking it for minutes, what's the safe sequence?",
  "I'm building a small invoicing app for freelancers with React and a Node API. How should I structure the folders?",
  "tsc complains `Type 'string | undefined' is not assignable to type 'string'` on process.env.DATABASE_URL. Best pattern?",
  "Git rebase went wrong and now I have conflicts in package-lock.json, how do I recover?",
  "How do I paginate with keyset pagination in Postgres instead of OFFSET?",
  "Why does my React context value cause every consumer to re-render? ```tsx\n<Ctx.Provider value={{ user, setUser }}>\n```",
  "Kubernetes pod keeps restarting with CrashLoopBackOff, logs say `Error: listen EADDRINUSE :::3000`.",
  "Explain how JWT refresh tokens should be stored in a React SPA, cookies or localStorage?",
  "Write a SQL query that returns each customer's latest order, Postgres 15.",
  "Vite dev server proxy to my Express API isn't forwarding cookies, config below:\n```js\nexport default { server: { proxy: { '/api': 'http://localhost:3000' } } }\n```",
  "How do I run database migrations in CI before the Jest integration tests, GitHub Actions?",
  "Thanks, that fixed it! Now the TypeScript build is fine but ESLint complains about any in the catch block.",
];

export function developerExport(seed: number, n: number) {
  const r = rng(seed);
  let t = 1_672_531_200; // 2023-01-01
  const convs = [];
  for (let i = 0; i < n; i++) {
    t += Math.floor(r() * 86_400 * 2) + 3_600;
    const turns = 1 + Math.floor(r() * 3);
    const mapping: Record<string, unknown> = {};
    let parent: string | null = null, time = t;
    for (let k = 0; k < turns; k++) {
      for (const role of ["user", "assistant"]) {
        const id = `dev-${i}-${k}-${role}`;
        const text = role === "user"
          ? Q[Math.floor(r() * r() * Q.length * 1.3) % Q.length]!
          : "Here is what is going on, and a fixed version of the code.";
        mapping[id] = {
          id,
          parent,
          children: [],
          message: { id, author: { role }, create_time: time += 40, content: { content_type: "text", parts: [text] } },
        };
        if (parent) (mapping[parent] as { children: string[] }).children.push(id);
        parent = id;
      }
    }
    convs.push({ id: `dev-${i}`, title: `Dev question ${i}`, create_time: t, mapping, current_node: parent });
  }
  return convs;
}

if (import.meta.main) {
  const out = Deno.args.find((a) => !a.startsWith("--")) ?? "developer-export.json";
  const i = Deno.args.indexOf("--conversations");
  await Deno.writeTextFile(out, JSON.stringify(developerExport(7, i >= 0 ? Number(Deno.args[i + 1]) : 160)));
  console.log(out);
}
