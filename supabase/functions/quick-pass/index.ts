import { serveStage } from "../../../shared/adapters/stage-runtime.ts";
import { quickPass } from "./handler.ts";

serveStage(quickPass);
