import { serveStage } from "../../../shared/adapters/stage-runtime.ts";
import { chunk } from "./handler.ts";

serveStage(chunk);
