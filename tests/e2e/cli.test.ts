import assert from "node:assert/strict";
import { STATED, statedFactsExport } from "../fixtures/stated_facts.ts";

/** Runs the main-job CLI as a user would (the platform is already up) and captures its output. */
async function soulprint(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "cli/main.ts", ...args],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("cli: import streams the example export up and writes the six SoulPrint files", async () => {
  const out = await Deno.makeTempDir();
  try {
    const r = await soulprint(
      "import",
      "examples/chatgpt-export-sample.zip",
      "--out",
      out,
      "--user",
      crypto.randomUUID(),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /119 conversations, 1760 messages, \d+ chunks/);
    assert.match(r.stdout, /stages: ingest [\d.]+s, quick_pass/);
    for (const f of ["SOUL.md", "IDENTITY.md", "USER.md", "AGENTS.md", "TOOLS.md", "MEMORY.md"]) {
      assert.ok((await Deno.readTextFile(`${out}/${f}`)).trim().length > 0, `${f} is written`);
    }
    const memory = await Deno.readTextFile(`${out}/MEMORY.md`);
    for (const h of ["Preferences", "Projects", "Important Dates", "Beliefs & Values", "Decisions & Context"]) {
      assert.match(memory, new RegExp(`^## ${h}`, "m"));
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("cli: the files hold what the person plainly said (name, city, hobby), not the assistant's words", async () => {
  const out = await Deno.makeTempDir();
  const file = `${out}/conversations.json`;
  try {
    await Deno.writeTextFile(file, JSON.stringify(statedFactsExport()));
    const r = await soulprint("import", file, "--out", `${out}/soulprint`, "--user", crypto.randomUUID());
    assert.equal(r.code, 0, r.stderr);
    const read = (f: string) => Deno.readTextFile(`${out}/soulprint/${f}`);
    const user = await read("USER.md");
    assert.match(user, new RegExp(STATED.firstName), "USER.md names the person");
    assert.ok(!user.includes(STATED.assistantCity), "the assistant's city is not the person's");
    const all = (await Promise.all(["SOUL.md", "IDENTITY.md", "USER.md", "AGENTS.md", "TOOLS.md"].map(read))).join(
      "\n",
    );
    assert.match(all, new RegExp(STATED.city), "the sections hold the person's city");
    assert.match((await read("MEMORY.md")).toLowerCase(), new RegExp(STATED.hobby), "MEMORY.md holds the stated hobby");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("cli: a file that is not an export fails with the job's error code and a non-zero exit", async () => {
  const file = await Deno.makeTempFile({ suffix: ".zip" });
  try {
    await Deno.writeTextFile(file, "these are my notes, not an export\n");
    const r = await soulprint("import", file, "--out", `${file}.out`, "--user", crypto.randomUUID());
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /import failed: EXPORT_UNSUPPORTED_FORMAT: /);
    const missing = await soulprint("import", `${file}.missing`);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read/);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("cli: --user works for any id: ids sharing a prefix, an existing user, and a non-id is refused", async () => {
  const { adminDb } = await import("../_support/platform.ts");
  const sql = adminDb();
  const file = await Deno.makeTempFile({ suffix: ".json" });
  const tail = () => crypto.randomUUID().slice(8);
  const prefix = crypto.randomUUID().slice(0, 8);
  const [a, b, existing] = [`${prefix}${tail()}`, `${prefix}${tail()}`, crypto.randomUUID()];
  try {
    await Deno.writeTextFile(file, "these are my notes, not an export\n");
    await sql`insert into auth.users (id, email) values (${existing}, ${`someone-${existing}@example.test`})`;
    for (const id of [a, b, existing, a.toUpperCase()]) {
      const r = await soulprint("import", file, "--out", `${file}.out`, "--user", id);
      assert.match(r.stderr, /import failed: EXPORT_UNSUPPORTED_FORMAT: /, `${id}: ${r.stderr}`);
    }
    const users = await sql`select id, email from auth.users where id in (${a}, ${b}, ${existing}) order by email`;
    assert.deepEqual(
      users.map((u) => u.email).sort(),
      [`cli-${a}@soulprint.local`, `cli-${b}@soulprint.local`, `someone-${existing}@example.test`].sort(),
    );
    const bad = await soulprint("import", file, "--user", "not-a-uuid");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--user not-a-uuid: not a user id/);
  } finally {
    await sql`delete from auth.users where id in (${a}, ${b}, ${existing})`;
    await sql.end();
    await Deno.remove(file);
  }
});
