// The Pod Security Standards as the Pod Security Admission controller checks them, for pod specs
// read from rendered manifests. It follows the checks in kubernetes/kubernetes
// staging/src/k8s.io/pod-security-admission/policy (check_*.go; the kind node runs Kubernetes
// v1.36), one function per upstream check, named after it. Where upstream widened an allowed set
// in later versions (sysctls), the set here is the 1.0 one: a stricter answer, never a laxer one.

export type Level = "privileged" | "baseline" | "restricted";

type Probe = { httpGet?: { host?: string }; tcpSocket?: { host?: string } };
type SecurityContext = {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  runAsNonRoot?: boolean;
  runAsUser?: number;
  procMount?: string;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type?: string };
  appArmorProfile?: { type?: string };
  seLinuxOptions?: { type?: string; user?: string; role?: string };
  windowsOptions?: { hostProcess?: boolean };
};
type Container = {
  name: string;
  securityContext?: SecurityContext;
  ports?: { hostPort?: number }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { postStart?: Probe; preStop?: Probe };
};
export type PodSpec = {
  containers: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: SecurityContext & { sysctls?: { name: string }[] };
  volumes?: Record<string, unknown>[];
};
/** The pod template's annotations (the deprecated AppArmor annotations live there). */
type PodMeta = { annotations?: Record<string, string> };

type Check = (pod: PodSpec, meta: PodMeta) => string[];

const containersOf = (pod: PodSpec) => [
  ...(pod.initContainers ?? []),
  ...pod.containers,
  ...(pod.ephemeralContainers ?? []),
];

/** Each container that breaks `bad`, as "<what> (container <name>)". */
const perContainer =
  (what: string, bad: (c: Container, pod: PodSpec) => boolean): Check =>
  (pod) =>
    containersOf(pod)
      .filter((c) => bad(c, pod))
      .map((c) => `${what} (container ${c.name})`);

// check_capabilities_baseline.go: the default capabilities of container runtimes.
const baselineCapabilities = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);
// check_seLinuxOptions.go
const allowedSELinuxTypes = new Set([
  "",
  "container_t",
  "container_init_t",
  "container_kvm_t",
  "container_engine_t",
]);
// check_sysctls.go (the 1.0 set)
const safeSysctls = new Set([
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_unprivileged_port_start",
]);
// check_restrictedVolumes.go: the volume sources restricted pods may use.
const restrictedVolumeSources = new Set([
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "persistentVolumeClaim",
  "projected",
  "secret",
]);

const hostsOf = (c: Container) =>
  [c.livenessProbe, c.readinessProbe, c.startupProbe, c.lifecycle?.postStart, c.lifecycle?.preStop]
    .flatMap((p) => [p?.httpGet?.host, p?.tcpSocket?.host])
    .filter((host) => host !== undefined && host !== "");

const baseline: Record<string, Check> = {
  // check_windowsHostProcess.go
  windowsHostProcess: perContainer(
    "windows host process",
    (c, pod) =>
      (c.securityContext?.windowsOptions?.hostProcess ??
        pod.securityContext?.windowsOptions?.hostProcess) === true,
  ),
  // check_hostNamespaces.go
  hostNamespaces: (pod) =>
    (["hostNetwork", "hostPID", "hostIPC"] as const).filter((key) => pod[key] === true),
  // check_privileged.go
  privileged: perContainer("privileged", (c) => c.securityContext?.privileged === true),
  // check_capabilities_baseline.go
  capabilities_baseline: perContainer("capabilities beyond the runtime default", (c) =>
    (c.securityContext?.capabilities?.add ?? []).some((cap) => !baselineCapabilities.has(cap)),
  ),
  // check_hostPathVolumes.go
  hostPathVolumes: (pod) =>
    (pod.volumes ?? []).filter((v) => v.hostPath !== undefined).map((v) => `hostPath ${v.name}`),
  // check_hostPorts.go
  hostPorts: perContainer("hostPort", (c) => (c.ports ?? []).some((p) => (p.hostPort ?? 0) !== 0)),
  // check_appArmorProfile.go (fields and the deprecated annotations)
  appArmorProfile: (pod, meta) => [
    ...(pod.securityContext?.appArmorProfile?.type === "Unconfined" ? ["AppArmor unconfined"] : []),
    ...perContainer(
      "AppArmor unconfined",
      (c) => c.securityContext?.appArmorProfile?.type === "Unconfined",
    )(pod, meta),
    ...Object.entries(meta.annotations ?? {})
      .filter(
        ([key, value]) =>
          key.startsWith("container.apparmor.security.beta.kubernetes.io/") &&
          value !== "runtime/default" &&
          !value.startsWith("localhost/"),
      )
      .map(([key]) => `AppArmor annotation ${key}`),
  ],
  // check_seLinuxOptions.go
  seLinuxOptions: (pod) =>
    [pod.securityContext, ...containersOf(pod).map((c) => c.securityContext)]
      .map((s) => s?.seLinuxOptions)
      .filter(
        (o) => o !== undefined && (!allowedSELinuxTypes.has(o.type ?? "") || o.user || o.role),
      )
      .map(() => "SELinux options"),
  // check_procMount.go
  procMount: perContainer(
    "procMount",
    (c) => (c.securityContext?.procMount ?? "Default") !== "Default",
  ),
  // check_seccompProfile_baseline.go
  seccompProfile_baseline: (pod) =>
    [pod.securityContext, ...containersOf(pod).map((c) => c.securityContext)].some(
      (s) => s?.seccompProfile?.type === "Unconfined",
    )
      ? ["seccomp unconfined"]
      : [],
  // check_sysctls.go
  sysctls: (pod) =>
    (pod.securityContext?.sysctls ?? [])
      .filter((s) => !safeSysctls.has(s.name))
      .map((s) => `sysctl ${s.name}`),
  // check_hostProbesAndhostLifecycle.go (1.34+)
  hostProbesAndHostLifecycle: perContainer("probe or lifecycle host", (c) => hostsOf(c).length > 0),
};

const restricted: Record<string, Check> = {
  // check_restrictedVolumes.go
  restrictedVolumes: (pod) =>
    (pod.volumes ?? [])
      .filter((v) => !Object.keys(v).some((key) => restrictedVolumeSources.has(key)))
      .map((v) => `volume type of ${v.name}`),
  // check_allowPrivilegeEscalation.go
  allowPrivilegeEscalation: perContainer(
    "allowPrivilegeEscalation not false",
    (c) => c.securityContext?.allowPrivilegeEscalation !== false,
  ),
  // check_runAsNonRoot.go: the container's setting wins over the pod's.
  runAsNonRoot: perContainer(
    "runAsNonRoot not true",
    (c, pod) =>
      c.securityContext?.runAsNonRoot === false ||
      (c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot) !== true,
  ),
  // check_runAsUser.go
  runAsUser: (pod) =>
    [pod.securityContext, ...containersOf(pod).map((c) => c.securityContext)].some(
      (s) => s?.runAsUser === 0,
    )
      ? ["runAsUser 0"]
      : [],
  // check_seccompProfile_restricted.go: RuntimeDefault or Localhost, on the pod or every container.
  seccompProfile_restricted: perContainer("seccomp profile not set", (c, pod) => {
    const type =
      c.securityContext?.seccompProfile?.type ?? pod.securityContext?.seccompProfile?.type;
    return type !== "RuntimeDefault" && type !== "Localhost";
  }),
  // check_capabilities_restricted.go: drop ALL, add at most NET_BIND_SERVICE.
  capabilities_restricted: perContainer("capabilities not dropped to ALL", (c) => {
    const caps = c.securityContext?.capabilities;
    return (
      !(caps?.drop ?? []).includes("ALL") ||
      (caps?.add ?? []).some((cap) => cap !== "NET_BIND_SERVICE")
    );
  }),
};

/** What a pod breaks at `level` (empty: admitted). Restricted includes every baseline check. */
export function violations(level: Level, pod: PodSpec, meta: PodMeta = {}): string[] {
  if (level === "privileged") return [];
  const checks = level === "baseline" ? baseline : { ...baseline, ...restricted };
  return Object.entries(checks).flatMap(([id, check]) =>
    check(pod, meta).map((what) => `${id}: ${what}`),
  );
}

/** The strictest level that admits the pod. */
export function strictestLevel(pod: PodSpec, meta: PodMeta = {}): Level {
  if (violations("restricted", pod, meta).length === 0) return "restricted";
  if (violations("baseline", pod, meta).length === 0) return "baseline";
  return "privileged";
}

const order: Level[] = ["privileged", "baseline", "restricted"];

/** The strictest level that admits every one of the pods. */
export function strictestLevelOfAll(levels: Level[]): Level {
  return order[Math.min(...levels.map((l) => order.indexOf(l)), order.length - 1)] as Level;
}
