import { serveStage } from "../../../shared/adapters/stage-runtime.ts";
import { memory } from "./handler.ts";

serveStage(memory);
