// Prints one of the local project's keys: `deno run platform/keys.ts anon_key|service_role_key`.
import { projectKeys } from "./jwt.ts";

const name = Deno.args[0] as "anon_key" | "service_role_key";
const keys = await projectKeys();
if (!(name in keys)) {
  console.error("usage: keys.ts anon_key|service_role_key");
  Deno.exit(2);
}
console.log(keys[name]);
