/**
 * SoulPrint command line (run through ./soulprint, which starts the local platform first).
 *   health   round trip SQL -> pg_net -> health function -> SQL, timed
 */
import postgres from "postgres";

const DB_URL = Deno.env.get("SOULPRINT_DB_URL") ??
  `postgresql://postgres:postgres@127.0.0.1:${Deno.env.get("SOULPRINT_DB_PORT") ?? 54322}/postgres`;

async function health(): Promise<number> {
  const sql = postgres(DB_URL, { max: 1, onnotice: () => {} });
  try {
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const [row] = await sql`insert into private.health_checks default values returning id`;
      const deadline = Date.now() + 15_000;
      let ms: number | null = null;
      while (ms === null && Date.now() < deadline) {
        const [r] = await sql`select extract(epoch from responded_at - requested_at) * 1000 as ms
                              from private.health_checks where id = ${row!.id} and responded_at is not null`;
        if (r) ms = Number(r.ms);
        else await new Promise((res) => setTimeout(res, 5));
      }
      if (ms === null) {
        console.error("health: no answer within 15 s (see .platform/logs/functions.log and net._http_response)");
        return 1;
      }
      times.push(ms);
    }
    times.sort((a, b) => a - b);
    console.log(`health: database -> pg_net -> health function -> database: median ${times[10]!.toFixed(1)} ms, ` +
      `max ${times[19]!.toFixed(1)} ms over 20 round trips`);
    return 0;
  } finally {
    await sql.end();
  }
}

const [cmd] = Deno.args;
switch (cmd) {
  case "health":
    Deno.exit(await health());
    break;
  default:
    console.error(`unknown command ${cmd}`);
    Deno.exit(2);
}
