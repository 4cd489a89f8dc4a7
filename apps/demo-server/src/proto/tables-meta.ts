import { type FieldDef, fields } from "./schema";

const m = (spec: string) => fields("meta.v1", spec);

/**
 * k8s.io/apimachinery meta/v1: object and list metadata, Status, DeleteOptions, label selectors
 * (`Time`, `MicroTime` and `FieldsV1` are special messages, see `SPECIAL_MESSAGES`).
 */
export const META_MESSAGES: Record<string, FieldDef[]> = {
  "meta.v1.ObjectMeta": m(`
    1 name string?; 2 generateName string?; 3 namespace string?; 4 selfLink string?;
    5 uid string?; 6 resourceVersion string?; 7 generation int64?; 8 creationTimestamp Time;
    9 deletionTimestamp *Time; 10 deletionGracePeriodSeconds *int64; 11 labels map[string]?;
    12 annotations map[string]?; 13 ownerReferences []OwnerReference?; 14 finalizers []string?;
    17 managedFields []ManagedFieldsEntry?`),
  // Go declares apiVersion first, but it has number 5
  "meta.v1.OwnerReference": m(`
    5 apiVersion string; 1 kind string; 3 name string; 4 uid string; 6 controller *bool;
    7 blockOwnerDeletion *bool`),
  "meta.v1.ManagedFieldsEntry": m(`
    1 manager string?; 2 operation string?; 3 apiVersion string?; 4 time *Time;
    6 fieldsType string?; 7 fieldsV1 *FieldsV1; 8 subresource string?`),
  "meta.v1.ListMeta": m(`
    1 selfLink string?; 2 resourceVersion string?; 3 continue string?;
    4 remainingItemCount *int64; 5 shardInfo -`),
  "meta.v1.Status": m(`
    1 metadata ListMeta; 2 status string?; 3 message string?; 4 reason string?;
    5 details *StatusDetails; 6 code int32?`),
  // uid (6) sits after kind in Go
  "meta.v1.StatusDetails": m(`
    1 name string?; 2 group string?; 3 kind string?; 6 uid string?; 4 causes []StatusCause?;
    5 retryAfterSeconds int32?`),
  "meta.v1.StatusCause": m("1 reason string?; 2 message string?; 3 field string?"),
  "meta.v1.DeleteOptions": m(`
    1 gracePeriodSeconds *int64; 2 preconditions *Preconditions; 3 orphanDependents *bool;
    4 propagationPolicy *string; 5 dryRun []string?;
    6 ignoreStoreReadErrorWithClusterBreakingPotential *bool`),
  "meta.v1.Preconditions": m("1 uid *string; 2 resourceVersion *string"),
  "meta.v1.LabelSelector": m(
    "1 matchLabels map[string]?; 2 matchExpressions []LabelSelectorRequirement?",
  ),
  "meta.v1.LabelSelectorRequirement": m("1 key string; 2 operator string; 3 values []string?"),
  "meta.v1.FieldSelectorRequirement": m("1 key string; 2 operator string; 3 values []string?"),
  "meta.v1.Condition": m(`
    1 type string; 2 status string; 3 observedGeneration int64?; 4 lastTransitionTime Time;
    5 reason string; 6 message string`),
};
