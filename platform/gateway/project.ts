/**
 * Local platform (never deployed): what the gateway reads from the project folder. Which
 * functions exist, their `verify_jwt` (supabase/config.toml) and the env files they get. Values
 * are re-read at most once a second: edits show up almost at once, and a busy function does not
 * pay a file read and a TOML parse per request.
 */
import { parse as parseToml } from "smol-toml";
import type { FunctionsLog } from "./log.ts";

type Config = { functions?: Record<string, { verify_jwt?: boolean }> };

export class Project {
  private cache = new Map<string, { at: number; value: unknown }>();
  /** The last config.toml error logged, so a broken file is reported once, not per request. */
  private configError = "";

  /**
   * @param root project folder
   * @param fixtureDirs further folders of `<name>/index.ts` functions served locally only (the
   *   platform's own test functions); supabase/functions wins on a name clash.
   */
  constructor(readonly root: string, private log: FunctionsLog, private fixtureDirs: string[] = []) {}

  /** The entry module of function `name`, or null when there is none. */
  entry(name: string): string | null {
    return this.fresh(`fn:${name}`, () => {
      for (const dir of [`${this.root}/supabase/functions`, ...this.fixtureDirs]) {
        const path = `${dir}/${name}/index.ts`;
        if (isFile(path)) return path;
      }
      return null;
    });
  }

  /**
   * verify_jwt per function; Supabase defaults it to true. A config.toml that does not parse is
   * logged (event `project.config_invalid`) and every function then verifies JWTs, the safe side.
   */
  verifyJwt(name: string): boolean {
    const cfg = this.fresh("config.toml", (): Config => {
      const path = `${this.root}/supabase/config.toml`;
      let text: string;
      try {
        text = Deno.readTextFileSync(path);
      } catch {
        return {}; // no config.toml: every function takes the default
      }
      try {
        const parsed = parseToml(text) as Config;
        this.configError = "";
        return parsed;
      } catch (err) {
        const error = String(err);
        if (error !== this.configError) this.log.event("project.config_invalid", { file: path, error });
        console.error(`functions gateway: ${path} does not parse (${error}); verify_jwt = true for every function`);
        this.configError = error;
        return {};
      }
    });
    return cfg.functions?.[name]?.verify_jwt ?? true;
  }

  /** KEY=value lines of supabase/functions/.env and .platform/functions.env (both optional). */
  functionEnv(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const file of [`${this.root}/supabase/functions/.env`, `${this.root}/.platform/functions.env`]) {
      let text: string;
      try {
        text = Deno.readTextFileSync(file);
      } catch {
        continue; // optional file
      }
      for (const line of text.split("\n")) {
        const m = line.match(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/);
        if (m) env[m[1]!] = m[2]!.replace(/^"(.*)"$/, "$1");
      }
    }
    return env;
  }

  private fresh<T>(key: string, read: () => T): T {
    const hit = this.cache.get(key);
    if (hit && performance.now() - hit.at < 1000) return hit.value as T;
    const value = read();
    this.cache.set(key, { at: performance.now(), value });
    return value;
  }
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false; // missing: not a function
  }
}
