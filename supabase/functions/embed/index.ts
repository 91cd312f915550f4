import { serveStage } from "../../../shared/adapters/stage-runtime.ts";
import { embed } from "./handler.ts";

serveStage(embed);
