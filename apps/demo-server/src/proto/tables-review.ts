import type { MessageTable } from "./schema";

/** authorization.k8s.io/v1 SelfSubjectAccessReview and SelfSubjectRulesReview, authentication.k8s.io/v1 SelfSubjectReview, autoscaling/v1 Scale. */
export const REVIEW_MESSAGES: MessageTable = {
  "authorization.v1.SelfSubjectAccessReview": [
    [1, "metadata", "meta.v1.ObjectMeta"],
    [2, "spec", "authorization.v1.SelfSubjectAccessReviewSpec"],
    [3, "status", "authorization.v1.SubjectAccessReviewStatus"],
  ],
  "authorization.v1.SelfSubjectRulesReview": [
    [1, "metadata", "meta.v1.ObjectMeta"],
    [2, "spec", "authorization.v1.SelfSubjectRulesReviewSpec"],
    [3, "status", "authorization.v1.SubjectRulesReviewStatus"],
  ],
  "authentication.v1.SelfSubjectReview": [
    [1, "metadata", "meta.v1.ObjectMeta"],
    [2, "status", "authentication.v1.SelfSubjectReviewStatus"],
  ],
  "autoscaling.v1.Scale": [
    [1, "metadata", "meta.v1.ObjectMeta"],
    [2, "spec", "autoscaling.v1.ScaleSpec"],
    [3, "status", "autoscaling.v1.ScaleStatus"],
  ],
  "authorization.v1.SelfSubjectAccessReviewSpec": [
    [1, "resourceAttributes", "authorization.v1.ResourceAttributes", "p"],
    [2, "nonResourceAttributes", "authorization.v1.NonResourceAttributes", "p"],
  ],
  "authorization.v1.SubjectAccessReviewStatus": [
    [1, "allowed", "bool"],
    [4, "denied", "bool", "o"],
    [2, "reason", "string", "o"],
    [3, "evaluationError", "string", "o"],
  ],
  "authorization.v1.SelfSubjectRulesReviewSpec": [[1, "namespace", "string", "o"]],
  "authorization.v1.SubjectRulesReviewStatus": [
    [1, "resourceRules", "[]authorization.v1.ResourceRule"],
    [2, "nonResourceRules", "[]authorization.v1.NonResourceRule"],
    [3, "incomplete", "bool"],
    [4, "evaluationError", "string", "o"],
  ],
  "authentication.v1.SelfSubjectReviewStatus": [[1, "userInfo", "authentication.v1.UserInfo"]],
  "autoscaling.v1.ScaleSpec": [[1, "replicas", "int32", "o"]],
  "autoscaling.v1.ScaleStatus": [
    [1, "replicas", "int32"],
    [2, "selector", "string", "o"],
  ],
  "authorization.v1.ResourceAttributes": [
    [1, "namespace", "string", "o"],
    [2, "verb", "string", "o"],
    [3, "group", "string", "o"],
    [4, "version", "string", "o"],
    [5, "resource", "string", "o"],
    [6, "subresource", "string", "o"],
    [7, "name", "string", "o"],
    [8, "fieldSelector", "authorization.v1.FieldSelectorAttributes", "p"],
    [9, "labelSelector", "authorization.v1.LabelSelectorAttributes", "p"],
  ],
  "authorization.v1.NonResourceAttributes": [
    [1, "path", "string", "o"],
    [2, "verb", "string", "o"],
  ],
  "authorization.v1.ResourceRule": [
    [1, "verbs", "[]string"],
    [2, "apiGroups", "[]string", "o"],
    [3, "resources", "[]string", "o"],
    [4, "resourceNames", "[]string", "o"],
  ],
  "authorization.v1.NonResourceRule": [
    [1, "verbs", "[]string"],
    [2, "nonResourceURLs", "[]string", "o"],
  ],
  "authentication.v1.UserInfo": [
    [1, "username", "string", "o"],
    [2, "uid", "string", "o"],
    [3, "groups", "[]string", "o"],
    [4, "extra", "map[authentication.v1.ExtraValue]", "o"],
  ],
  "authorization.v1.FieldSelectorAttributes": [
    [1, "rawSelector", "string", "o"],
    [2, "requirements", "[]meta.v1.FieldSelectorRequirement", "o"],
  ],
  "authorization.v1.LabelSelectorAttributes": [
    [1, "rawSelector", "string", "o"],
    [2, "requirements", "[]meta.v1.LabelSelectorRequirement", "o"],
  ],
};
