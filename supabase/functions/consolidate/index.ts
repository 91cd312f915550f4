import { serveStage } from "../../../shared/adapters/stage-runtime.ts";
import { consolidate } from "./handler.ts";

serveStage(consolidate);
