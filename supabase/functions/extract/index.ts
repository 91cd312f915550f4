import { serveStage } from "../../../shared/adapters/stage-runtime.ts";
import { extract } from "./handler.ts";

serveStage(extract);
