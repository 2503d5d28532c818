import { CreateFeatures1764500000000 } from './1764500000000-create-features';
import { CompactFeatureRows1769300000000 } from './1769300000000-compact-feature-rows';

/** Every migration of the features schema, in order (the service, the rebuild CLI and tests run these). */
export const FEATURE_MIGRATIONS = [CreateFeatures1764500000000, CompactFeatureRows1769300000000];
