import { userFunctionDeps } from "../../../shared/adapters/user-function.ts";
import { handle } from "./handler.ts";

const deps = userFunctionDeps();
Deno.serve((req) => handle(req, deps));
