import type { MessageTable } from "./schema";

/** apps/v1: Deployment and ReplicaSet. */
export const APPS_MESSAGES: MessageTable = {
  "apps.v1.Deployment": [
    [1, "metadata", "meta.v1.ObjectMeta"],
    [2, "spec", "apps.v1.DeploymentSpec"],
    [3, "status", "apps.v1.DeploymentStatus"],
  ],
  "apps.v1.ReplicaSet": [
    [1, "metadata", "meta.v1.ObjectMeta"],
    [2, "spec", "apps.v1.ReplicaSetSpec"],
    [3, "status", "apps.v1.ReplicaSetStatus"],
  ],
  "apps.v1.DeploymentSpec": [
    [1, "replicas", "int32", "p"],
    [2, "selector", "meta.v1.LabelSelector", "p"],
    [3, "template", "core.v1.PodTemplateSpec"],
    [4, "strategy", "apps.v1.DeploymentStrategy"],
    [5, "minReadySeconds", "int32", "o"],
    [6, "revisionHistoryLimit", "int32", "p"],
    [7, "paused", "bool", "o"],
    [9, "progressDeadlineSeconds", "int32", "p"],
  ],
  "apps.v1.DeploymentStatus": [
    [1, "observedGeneration", "int64", "o"],
    [2, "replicas", "int32", "o"],
    [3, "updatedReplicas", "int32", "o"],
    [7, "readyReplicas", "int32", "o"],
    [4, "availableReplicas", "int32", "o"],
    [5, "unavailableReplicas", "int32", "o"],
    [9, "terminatingReplicas", "int32", "p"],
    [6, "conditions", "[]apps.v1.DeploymentCondition", "o"],
    [8, "collisionCount", "int32", "p"],
  ],
  "apps.v1.ReplicaSetSpec": [
    [1, "replicas", "int32", "p"],
    [4, "minReadySeconds", "int32", "o"],
    [2, "selector", "meta.v1.LabelSelector", "p"],
    [3, "template", "core.v1.PodTemplateSpec"],
  ],
  "apps.v1.ReplicaSetStatus": [
    [1, "replicas", "int32"],
    [2, "fullyLabeledReplicas", "int32", "o"],
    [4, "readyReplicas", "int32", "o"],
    [5, "availableReplicas", "int32", "o"],
    [7, "terminatingReplicas", "int32", "p"],
    [3, "observedGeneration", "int64", "o"],
    [6, "conditions", "[]apps.v1.ReplicaSetCondition", "o"],
  ],
  "apps.v1.DeploymentStrategy": [
    [1, "type", "string", "o"],
    [2, "rollingUpdate", "apps.v1.RollingUpdateDeployment", "p"],
  ],
  "apps.v1.DeploymentCondition": [
    [1, "type", "string"],
    [2, "status", "string"],
    [6, "lastUpdateTime", "meta.v1.Time"],
    [7, "lastTransitionTime", "meta.v1.Time"],
    [4, "reason", "string", "o"],
    [5, "message", "string", "o"],
  ],
  "apps.v1.ReplicaSetCondition": [
    [1, "type", "string"],
    [2, "status", "string"],
    [3, "lastTransitionTime", "meta.v1.Time"],
    [4, "reason", "string", "o"],
    [5, "message", "string", "o"],
  ],
  "apps.v1.RollingUpdateDeployment": [
    [1, "maxUnavailable", "intstr.IntOrString", "p"],
    [2, "maxSurge", "intstr.IntOrString", "p"],
  ],
};
