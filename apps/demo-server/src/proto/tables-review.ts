import { type FieldDef, fields } from "./schema";

const authz = (spec: string) => fields("authorization.v1", spec);
const authn = (spec: string) => fields("authentication.v1", spec);
const autoscaling = (spec: string) => fields("autoscaling.v1", spec);

/**
 * authorization.k8s.io/v1 SelfSubjectAccessReview and SelfSubjectRulesReview,
 * authentication.k8s.io/v1 SelfSubjectReview, autoscaling/v1 Scale.
 */
export const REVIEW_MESSAGES: Record<string, FieldDef[]> = {
  "authorization.v1.SelfSubjectAccessReview": authz(`
    1 metadata ObjectMeta; 2 spec SelfSubjectAccessReviewSpec; 3 status SubjectAccessReviewStatus`),
  "authorization.v1.SelfSubjectAccessReviewSpec": authz(`
    1 resourceAttributes *ResourceAttributes; 2 nonResourceAttributes *NonResourceAttributes`),
  "authorization.v1.ResourceAttributes": authz(`
    1 namespace string?; 2 verb string?; 3 group string?; 4 version string?; 5 resource string?;
    6 subresource string?; 7 name string?; 8 fieldSelector *FieldSelectorAttributes;
    9 labelSelector *LabelSelectorAttributes`),
  "authorization.v1.FieldSelectorAttributes": authz(`
    1 rawSelector string?; 2 requirements []FieldSelectorRequirement?`),
  "authorization.v1.LabelSelectorAttributes": authz(`
    1 rawSelector string?; 2 requirements []LabelSelectorRequirement?`),
  "authorization.v1.NonResourceAttributes": authz("1 path string?; 2 verb string?"),
  // denied (4) sits after allowed in Go
  "authorization.v1.SubjectAccessReviewStatus": authz(`
    1 allowed bool; 4 denied bool?; 2 reason string?; 3 evaluationError string?`),
  "authorization.v1.SelfSubjectRulesReview": authz(`
    1 metadata ObjectMeta; 2 spec SelfSubjectRulesReviewSpec; 3 status SubjectRulesReviewStatus`),
  "authorization.v1.SelfSubjectRulesReviewSpec": authz("1 namespace string?"),
  "authorization.v1.SubjectRulesReviewStatus": authz(`
    1 resourceRules []ResourceRule; 2 nonResourceRules []NonResourceRule; 3 incomplete bool;
    4 evaluationError string?`),
  "authorization.v1.ResourceRule": authz(`
    1 verbs []string; 2 apiGroups []string?; 3 resources []string?; 4 resourceNames []string?`),
  "authorization.v1.NonResourceRule": authz("1 verbs []string; 2 nonResourceURLs []string?"),
  "authentication.v1.SelfSubjectReview": authn(
    "1 metadata ObjectMeta; 2 status SelfSubjectReviewStatus",
  ),
  "authentication.v1.SelfSubjectReviewStatus": authn("1 userInfo UserInfo"),
  "authentication.v1.UserInfo": authn(`
    1 username string?; 2 uid string?; 3 groups []string?; 4 extra map[ExtraValue]?`),
  "autoscaling.v1.Scale": autoscaling(
    "1 metadata ObjectMeta; 2 spec ScaleSpec; 3 status ScaleStatus",
  ),
  "autoscaling.v1.ScaleSpec": autoscaling("1 replicas int32?"),
  "autoscaling.v1.ScaleStatus": autoscaling("1 replicas int32; 2 selector string?"),
};
