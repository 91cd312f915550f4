import { serveStage } from "../../../shared/adapters/stage-runtime.ts";
import { finalize } from "./handler.ts";

serveStage(finalize);
