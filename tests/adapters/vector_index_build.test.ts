// The vector_index stage's build is bounded: one that would outlast its time gives up cleanly
// (nothing kept, the task's transaction still usable) instead of being killed with the function
// and failing the same way on every retry.
import assert from "node:assert/strict";
import { postgresChunks } from "../../shared/adapters/store/chunks.ts";
import { adminDb } from "../_support/platform.ts";

class Rollback extends Error {}

Deno.test("vector index build: past its time it gives up and keeps nothing; in time it builds", async () => {
  const sql = adminDb(1);
  try {
    await sql.begin(async (tx) => {
      const user = crypto.randomUUID();
      await tx`insert into auth.users (id, email) values (${user}, ${`vib-${user}@test.local`})`;
      const [job] = await tx`insert into public.processing_jobs (user_id, storage_path, pipeline_version)
                             values (${user}, ${`imports/${user}/x.json`}, 'selftest') returning id`;
      await tx`insert into public.conversation_chunks (user_id, job_id, conversation_id, chunk_index, title, content,
                 token_count, message_count, created_at)
               select ${user}, ${job!.id}, 'c' || g, 0, 't', 'text ' || g, 2, 1, now()
                 from generate_series(1, 2000) g`;
      await tx`insert into public.chunk_embeddings (chunk_id, job_id, user_id, embedding)
               select c.id, c.job_id, c.user_id,
                      (select array_agg(random() - 0.5 + 0 * d + 0 * c.chunk_index)::extensions.vector(768)
                         from generate_series(1, 768) d)
                 from public.conversation_chunks c where c.job_id = ${job!.id}`;
      await tx`select set_config('soulprint.exact_search_max_chunks', '100', true)`;
      const chunks = postgresChunks(tx);

      const late = await chunks.buildVectorIndex(job!.id, 1);
      assert.equal(late.timed_out, true, "a 1 ms budget cannot hold a 2,000-vector build");
      assert.equal(late.built, false);
      const [left] = await tx`select (select count(*)::int from private.generation_vector_indexes where job_id = ${
        job!.id
      })
                                   + (select count(*)::int from pg_catalog.pg_class
                                       where relname like ${
        "generation_vectors_" + job!.id.replaceAll("-", "") + "%"
      }) as n,
                                     current_setting('statement_timeout') as timeout`;
      assert.equal(left!.n, 0, "nothing of the abandoned build is kept");
      assert.equal(left!.timeout, "0", "and the transaction goes on, without the build's timeout");

      const built = await chunks.buildVectorIndex(job!.id, 60_000);
      assert.deepEqual([built.built, built.vectors, built.timed_out], [true, 2000, undefined]);
      throw new Rollback();
    });
  } catch (e) {
    if (!(e instanceof Rollback)) throw e;
  } finally {
    await sql.end();
  }
});
