import { type FieldDef, fields } from "./schema";

const m = (spec: string) => fields("core.v1", spec);

/**
 * core/v1: Namespace, ConfigMap, Secret, ServiceAccount, Service, Event, Pod and what they use.
 * Pod specs cover containers (ports, env, resources, mounts, probes, lifecycle, security
 * context), the common volume sources and scheduling basics; fields marked `-` (affinity,
 * topology spread, the cloud volume sources, …) are refused with a 415 rather than dropped.
 */
export const CORE_MESSAGES: Record<string, FieldDef[]> = {
  "core.v1.Namespace": m("1 metadata ObjectMeta; 2 spec NamespaceSpec; 3 status NamespaceStatus"),
  "core.v1.NamespaceSpec": m("1 finalizers []string?"),
  "core.v1.NamespaceStatus": m("1 phase string?; 2 conditions []NamespaceCondition?"),
  "core.v1.NamespaceCondition": m(`
    1 type string; 2 status string; 4 lastTransitionTime Time; 5 reason string?;
    6 message string?`),
  // immutable (4) comes first in Go
  "core.v1.ConfigMap": m(`
    1 metadata ObjectMeta; 4 immutable *bool; 2 data map[string]?; 3 binaryData map[bytes]?`),
  "core.v1.Secret": m(`
    1 metadata ObjectMeta; 5 immutable *bool; 2 data map[bytes]?; 4 stringData map[string]?;
    3 type string?`),
  "core.v1.ServiceAccount": m(`
    1 metadata ObjectMeta; 2 secrets []ObjectReference?;
    3 imagePullSecrets []LocalObjectReference?; 4 automountServiceAccountToken *bool`),
  "core.v1.ObjectReference": m(`
    1 kind string?; 2 namespace string?; 3 name string?; 4 uid string?; 5 apiVersion string?;
    6 resourceVersion string?; 7 fieldPath string?`),
  "core.v1.LocalObjectReference": m("1 name string?"),

  "core.v1.Service": m("1 metadata ObjectMeta; 2 spec ServiceSpec; 3 status ServiceStatus"),
  "core.v1.ServiceSpec": m(`
    1 ports []ServicePort?; 2 selector map[string]?; 3 clusterIP string?; 18 clusterIPs []string?;
    4 type string?; 5 externalIPs []string?; 7 sessionAffinity string?; 8 loadBalancerIP string?;
    9 loadBalancerSourceRanges []string?; 10 externalName string?;
    11 externalTrafficPolicy string?; 12 healthCheckNodePort int32?;
    13 publishNotReadyAddresses bool?; 14 sessionAffinityConfig *SessionAffinityConfig;
    19 ipFamilies []string?; 17 ipFamilyPolicy *string; 20 allocateLoadBalancerNodePorts *bool;
    21 loadBalancerClass *string; 22 internalTrafficPolicy *string;
    23 trafficDistribution *string`),
  "core.v1.ServicePort": m(`
    1 name string?; 2 protocol string?; 6 appProtocol *string; 3 port int32;
    4 targetPort IntOrString; 5 nodePort int32?`),
  "core.v1.SessionAffinityConfig": m("1 clientIP *ClientIPConfig"),
  "core.v1.ClientIPConfig": m("1 timeoutSeconds *int32"),
  "core.v1.ServiceStatus": m("1 loadBalancer LoadBalancerStatus; 2 conditions []Condition?"),
  "core.v1.LoadBalancerStatus": m("1 ingress []LoadBalancerIngress?"),
  "core.v1.LoadBalancerIngress": m(`
    1 ip string?; 2 hostname string?; 3 ipMode *string; 4 ports []PortStatus?`),
  "core.v1.PortStatus": m("1 port int32; 2 protocol string; 3 error *string"),

  "core.v1.Event": m(`
    1 metadata ObjectMeta; 2 involvedObject ObjectReference; 3 reason string?; 4 message string?;
    5 source EventSource; 6 firstTimestamp Time; 7 lastTimestamp Time; 8 count int32?;
    9 type string?; 10 eventTime MicroTime; 11 series *EventSeries; 12 action string?;
    13 related *ObjectReference; 14 reportingComponent string; 15 reportingInstance string`),
  "core.v1.EventSource": m("1 component string?; 2 host string?"),
  "core.v1.EventSeries": m("1 count int32?; 2 lastObservedTime MicroTime"),

  "core.v1.Pod": m("1 metadata ObjectMeta; 2 spec PodSpec; 3 status PodStatus"),
  "core.v1.PodTemplateSpec": m("1 metadata ObjectMeta; 2 spec PodSpec"),
  "core.v1.PodSpec": m(`
    1 volumes []Volume?; 20 initContainers []Container?; 2 containers []Container;
    34 ephemeralContainers -; 3 restartPolicy string?; 4 terminationGracePeriodSeconds *int64;
    5 activeDeadlineSeconds *int64; 6 dnsPolicy string?; 7 nodeSelector map[string]?;
    8 serviceAccountName string?; 9 serviceAccount string?;
    21 automountServiceAccountToken *bool; 10 nodeName string?; 11 hostNetwork bool?;
    12 hostPID bool?; 13 hostIPC bool?; 27 shareProcessNamespace *bool;
    14 securityContext *PodSecurityContext; 15 imagePullSecrets []LocalObjectReference?;
    16 hostname string?; 17 subdomain string?; 18 affinity -; 19 schedulerName string?;
    22 tolerations []Toleration?; 23 hostAliases -; 24 priorityClassName string?;
    25 priority *int32; 26 dnsConfig -; 28 readinessGates -; 29 runtimeClassName *string;
    30 enableServiceLinks *bool; 31 preemptionPolicy *string; 32 overhead map[Quantity]?;
    33 topologySpreadConstraints -; 35 setHostnameAsFQDN *bool; 36 os -; 37 hostUsers *bool;
    38 schedulingGates -; 39 resourceClaims -; 40 resources *ResourceRequirements`),
  "core.v1.Container": m(`
    1 name string; 2 image string?; 3 command []string?; 4 args []string?; 5 workingDir string?;
    6 ports []ContainerPort?; 19 envFrom []EnvFromSource?; 7 env []EnvVar?;
    8 resources ResourceRequirements; 23 resizePolicy -; 24 restartPolicy *string;
    9 volumeMounts []VolumeMount?; 21 volumeDevices -; 10 livenessProbe *Probe;
    11 readinessProbe *Probe; 22 startupProbe *Probe; 12 lifecycle *Lifecycle;
    13 terminationMessagePath string?; 20 terminationMessagePolicy string?;
    14 imagePullPolicy string?; 15 securityContext *SecurityContext; 16 stdin bool?;
    17 stdinOnce bool?; 18 tty bool?`),
  "core.v1.ContainerPort": m(`
    1 name string?; 2 hostPort int32?; 3 containerPort int32; 4 protocol string?;
    5 hostIP string?`),
  "core.v1.EnvFromSource": m(`
    1 prefix string?; 2 configMapRef *ConfigMapEnvSource; 3 secretRef *SecretEnvSource`),
  "core.v1.ConfigMapEnvSource": m("1 localObjectReference ~LocalObjectReference; 2 optional *bool"),
  "core.v1.SecretEnvSource": m("1 localObjectReference ~LocalObjectReference; 2 optional *bool"),
  "core.v1.EnvVar": m("1 name string; 2 value string?; 3 valueFrom *EnvVarSource"),
  "core.v1.EnvVarSource": m(`
    1 fieldRef *ObjectFieldSelector; 2 resourceFieldRef *ResourceFieldSelector;
    3 configMapKeyRef *ConfigMapKeySelector; 4 secretKeyRef *SecretKeySelector`),
  "core.v1.ObjectFieldSelector": m("1 apiVersion string?; 2 fieldPath string"),
  "core.v1.ResourceFieldSelector": m(
    "1 containerName string?; 2 resource string; 3 divisor Quantity",
  ),
  "core.v1.ConfigMapKeySelector": m(`
    1 localObjectReference ~LocalObjectReference; 2 key string; 3 optional *bool`),
  "core.v1.SecretKeySelector": m(`
    1 localObjectReference ~LocalObjectReference; 2 key string; 3 optional *bool`),
  "core.v1.ResourceRequirements": m(`
    1 limits map[Quantity]?; 2 requests map[Quantity]?; 3 claims []ResourceClaim?`),
  "core.v1.ResourceClaim": m("1 name string; 2 request string?"),
  // recursiveReadOnly (7) sits after readOnly in Go
  "core.v1.VolumeMount": m(`
    1 name string; 2 readOnly bool?; 7 recursiveReadOnly *string; 3 mountPath string;
    4 subPath string?; 5 mountPropagation *string; 6 subPathExpr string?`),
  "core.v1.Probe": m(`
    1 handler ~ProbeHandler; 2 initialDelaySeconds int32?; 3 timeoutSeconds int32?;
    4 periodSeconds int32?; 5 successThreshold int32?; 6 failureThreshold int32?;
    7 terminationGracePeriodSeconds *int64`),
  "core.v1.ProbeHandler": m(`
    1 exec *ExecAction; 2 httpGet *HTTPGetAction; 3 tcpSocket *TCPSocketAction;
    4 grpc *GRPCAction`),
  "core.v1.ExecAction": m("1 command []string?"),
  "core.v1.HTTPGetAction": m(`
    1 path string?; 2 port IntOrString; 3 host string?; 4 scheme string?;
    5 httpHeaders []HTTPHeader?`),
  "core.v1.HTTPHeader": m("1 name string; 2 value string"),
  "core.v1.TCPSocketAction": m("1 port IntOrString; 2 host string?"),
  "core.v1.GRPCAction": m("1 port int32; 2 service *string"),
  "core.v1.Lifecycle": m(
    "1 postStart *LifecycleHandler; 2 preStop *LifecycleHandler; 3 stopSignal *string",
  ),
  "core.v1.LifecycleHandler": m(`
    1 exec *ExecAction; 2 httpGet *HTTPGetAction; 3 tcpSocket *TCPSocketAction;
    4 sleep *SleepAction`),
  "core.v1.SleepAction": m("1 seconds int64"),
  "core.v1.SecurityContext": m(`
    1 capabilities *Capabilities; 2 privileged *bool; 3 seLinuxOptions -; 10 windowsOptions -;
    4 runAsUser *int64; 8 runAsGroup *int64; 5 runAsNonRoot *bool;
    6 readOnlyRootFilesystem *bool; 7 allowPrivilegeEscalation *bool; 9 procMount *string;
    11 seccompProfile *SeccompProfile; 12 appArmorProfile -`),
  "core.v1.Capabilities": m("1 add []string?; 2 drop []string?"),
  "core.v1.SeccompProfile": m("1 type string; 2 localhostProfile *string"),
  "core.v1.PodSecurityContext": m(`
    1 seLinuxOptions -; 8 windowsOptions -; 2 runAsUser *int64; 6 runAsGroup *int64;
    3 runAsNonRoot *bool; 4 supplementalGroups []int64?; 12 supplementalGroupsPolicy *string;
    5 fsGroup *int64; 7 sysctls -; 9 fsGroupChangePolicy *string;
    10 seccompProfile *SeccompProfile; 11 appArmorProfile -; 13 seLinuxChangePolicy *string`),
  "core.v1.Toleration": m(`
    1 key string?; 2 operator string?; 3 value string?; 4 effect string?;
    5 tolerationSeconds *int64`),

  "core.v1.Volume": m("1 name string; 2 volumeSource ~VolumeSource"),
  "core.v1.VolumeSource": m(`
    1 hostPath *HostPathVolumeSource; 2 emptyDir *EmptyDirVolumeSource; 3 gcePersistentDisk -;
    4 awsElasticBlockStore -; 5 gitRepo -; 6 secret *SecretVolumeSource; 7 nfs -; 8 iscsi -;
    9 glusterfs -; 10 persistentVolumeClaim *PersistentVolumeClaimVolumeSource; 11 rbd -;
    12 flexVolume -; 13 cinder -; 14 cephfs -; 15 flocker -;
    16 downwardAPI *DownwardAPIVolumeSource; 17 fc -; 18 azureFile -;
    19 configMap *ConfigMapVolumeSource; 20 vsphereVolume -; 21 quobyte -; 22 azureDisk -;
    23 photonPersistentDisk -; 26 projected *ProjectedVolumeSource; 24 portworxVolume -;
    25 scaleIO -; 27 storageos -; 28 csi -; 29 ephemeral -; 30 image -`),
  "core.v1.HostPathVolumeSource": m("1 path string; 2 type *string"),
  "core.v1.EmptyDirVolumeSource": m("1 medium string?; 2 sizeLimit *Quantity"),
  "core.v1.SecretVolumeSource": m(`
    1 secretName string?; 2 items []KeyToPath?; 3 defaultMode *int32; 4 optional *bool`),
  "core.v1.ConfigMapVolumeSource": m(`
    1 localObjectReference ~LocalObjectReference; 2 items []KeyToPath?; 3 defaultMode *int32;
    4 optional *bool`),
  "core.v1.KeyToPath": m("1 key string; 2 path string; 3 mode *int32"),
  "core.v1.PersistentVolumeClaimVolumeSource": m("1 claimName string; 2 readOnly bool?"),
  "core.v1.DownwardAPIVolumeSource": m("1 items []DownwardAPIVolumeFile?; 2 defaultMode *int32"),
  "core.v1.DownwardAPIVolumeFile": m(`
    1 path string; 2 fieldRef *ObjectFieldSelector; 3 resourceFieldRef *ResourceFieldSelector;
    4 mode *int32`),
  "core.v1.ProjectedVolumeSource": m("1 sources []VolumeProjection; 2 defaultMode *int32"),
  "core.v1.VolumeProjection": m(`
    1 secret *SecretProjection; 2 downwardAPI *DownwardAPIProjection;
    3 configMap *ConfigMapProjection; 4 serviceAccountToken *ServiceAccountTokenProjection;
    5 clusterTrustBundle -`),
  "core.v1.SecretProjection": m(`
    1 localObjectReference ~LocalObjectReference; 2 items []KeyToPath?; 4 optional *bool`),
  "core.v1.ConfigMapProjection": m(`
    1 localObjectReference ~LocalObjectReference; 2 items []KeyToPath?; 4 optional *bool`),
  "core.v1.DownwardAPIProjection": m("1 items []DownwardAPIVolumeFile?"),
  "core.v1.ServiceAccountTokenProjection": m(`
    1 audience string?; 2 expirationSeconds *int64; 3 path string`),

  // observedGeneration (17) comes first in Go
  "core.v1.PodStatus": m(`
    17 observedGeneration int64?; 1 phase string?; 2 conditions []PodCondition?;
    3 message string?; 4 reason string?; 11 nominatedNodeName string?; 5 hostIP string?;
    16 hostIPs []HostIP?; 6 podIP string?; 12 podIPs []PodIP?; 7 startTime *Time;
    10 initContainerStatuses []ContainerStatus?; 8 containerStatuses []ContainerStatus?;
    9 qosClass string?; 13 ephemeralContainerStatuses []ContainerStatus?; 14 resize string?;
    15 resourceClaimStatuses -`),
  "core.v1.PodCondition": m(`
    1 type string; 7 observedGeneration int64?; 2 status string; 3 lastProbeTime Time;
    4 lastTransitionTime Time; 5 reason string?; 6 message string?`),
  "core.v1.PodIP": m("1 ip string"),
  "core.v1.HostIP": m("1 ip string"),
  "core.v1.ContainerStatus": m(`
    1 name string; 2 state ContainerState; 3 lastState ContainerState; 4 ready bool;
    5 restartCount int32; 6 image string; 7 imageID string; 8 containerID string?;
    9 started *bool; 10 allocatedResources map[Quantity]?; 11 resources *ResourceRequirements;
    12 volumeMounts -; 13 user -; 14 allocatedResourcesStatus -; 15 stopSignal *string`),
  "core.v1.ContainerState": m(`
    1 waiting *ContainerStateWaiting; 2 running *ContainerStateRunning;
    3 terminated *ContainerStateTerminated`),
  "core.v1.ContainerStateWaiting": m("1 reason string?; 2 message string?"),
  "core.v1.ContainerStateRunning": m("1 startedAt Time"),
  "core.v1.ContainerStateTerminated": m(`
    1 exitCode int32; 2 signal int32?; 3 reason string?; 4 message string?; 5 startedAt Time;
    6 finishedAt Time; 7 containerID string?`),
};
