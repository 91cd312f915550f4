import { serveStage } from "../../../shared/adapters/stage-runtime.ts";
import { regenerate } from "./handler.ts";

serveStage(regenerate);
