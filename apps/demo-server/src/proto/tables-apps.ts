import { type FieldDef, fields } from "./schema";

const m = (spec: string) => fields("apps.v1", spec);

/** apps/v1: Deployment and ReplicaSet. */
export const APPS_MESSAGES: Record<string, FieldDef[]> = {
  "apps.v1.Deployment": m(
    "1 metadata ObjectMeta; 2 spec DeploymentSpec; 3 status DeploymentStatus",
  ),
  "apps.v1.DeploymentSpec": m(`
    1 replicas *int32; 2 selector *LabelSelector; 3 template PodTemplateSpec;
    4 strategy DeploymentStrategy; 5 minReadySeconds int32?; 6 revisionHistoryLimit *int32;
    7 paused bool?; 9 progressDeadlineSeconds *int32`),
  "apps.v1.DeploymentStrategy": m("1 type string?; 2 rollingUpdate *RollingUpdateDeployment"),
  "apps.v1.RollingUpdateDeployment": m("1 maxUnavailable *IntOrString; 2 maxSurge *IntOrString"),
  // readyReplicas (7) and terminatingReplicas (9) sit where Go declares them
  "apps.v1.DeploymentStatus": m(`
    1 observedGeneration int64?; 2 replicas int32?; 3 updatedReplicas int32?;
    7 readyReplicas int32?; 4 availableReplicas int32?; 5 unavailableReplicas int32?;
    9 terminatingReplicas *int32; 6 conditions []DeploymentCondition?; 8 collisionCount *int32`),
  "apps.v1.DeploymentCondition": m(`
    1 type string; 2 status string; 6 lastUpdateTime Time; 7 lastTransitionTime Time;
    4 reason string?; 5 message string?`),
  "apps.v1.ReplicaSet": m(
    "1 metadata ObjectMeta; 2 spec ReplicaSetSpec; 3 status ReplicaSetStatus",
  ),
  "apps.v1.ReplicaSetSpec": m(`
    1 replicas *int32; 4 minReadySeconds int32?; 2 selector *LabelSelector;
    3 template PodTemplateSpec`),
  "apps.v1.ReplicaSetStatus": m(`
    1 replicas int32; 2 fullyLabeledReplicas int32?; 4 readyReplicas int32?;
    5 availableReplicas int32?; 7 terminatingReplicas *int32; 3 observedGeneration int64?;
    6 conditions []ReplicaSetCondition?`),
  "apps.v1.ReplicaSetCondition": m(`
    1 type string; 2 status string; 3 lastTransitionTime Time; 4 reason string?;
    5 message string?`),
};
