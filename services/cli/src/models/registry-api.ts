/** The model registry's HTTP answers the CLI reads (services/registry README, "Model registry → Endpoints"). */
import type { ModelStage } from '@flywheel/contracts';

export interface ModelView {
  name: string;
  latest_version: number | null;
  production_version: number | null;
  aliases: Record<string, number>;
  created_at: number;
  updated_at: number;
}

export interface VersionView {
  model_name: string;
  version: number;
  stage: ModelStage;
  aliases: string[];
  artifact_sha256: string;
  feature_set_version: string;
  feature_names: string[];
  metrics: Record<string, number>;
  parent_version: number | null;
  retrain_request_id: string | null;
  description: string | null;
  created_by: string;
  created_at: number;
  stage_changed_at: number;
}

export interface HistoryEntry {
  change_id: string;
  version: number;
  change: string;
  alias: string | null;
  from_stage: ModelStage | null;
  to_stage: ModelStage | null;
  actor: string;
  reason: string | null;
  changed_at: number;
}
