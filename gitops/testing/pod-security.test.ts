// The Pod Security Standards checker against the cases the upstream checks name
// (kubernetes/kubernetes staging/src/k8s.io/pod-security-admission/policy check_*.go).
import { describe, expect, test } from "bun:test";
import { type PodSpec, strictestLevel, strictestLevelOfAll, violations } from "./pod-security.ts";

/** A pod that passes restricted; each case below breaks one rule of it. */
const restrictedPod = (): PodSpec => ({
  securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
  containers: [
    {
      name: "app",
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
      ports: [{}],
    },
  ],
  volumes: [
    { name: "tmp", emptyDir: {} },
    { name: "config", configMap: { name: "c" } },
  ],
});

const withContainer = (change: Record<string, unknown>): PodSpec => {
  const pod = restrictedPod();
  const container = pod.containers[0] as PodSpec["containers"][number];
  pod.containers[0] = {
    ...container,
    ...change,
    securityContext: { ...container.securityContext, ...(change.securityContext as object) },
  };
  return pod;
};

describe("levels", () => {
  test("a pod hardened like the services passes restricted", () => {
    expect(violations("restricted", restrictedPod())).toEqual([]);
    expect(strictestLevel(restrictedPod())).toBe("restricted");
  });

  test("privileged admits anything", () => {
    expect(violations("privileged", { ...restrictedPod(), hostPID: true })).toEqual([]);
  });

  test("baseline-only breaks: no seccomp profile, root user, escalation, capabilities kept, a volume type outside the list", () => {
    const cases: [string, PodSpec][] = [
      [
        "seccompProfile_restricted",
        { ...restrictedPod(), securityContext: { runAsNonRoot: true } },
      ],
      [
        "runAsNonRoot",
        { ...restrictedPod(), securityContext: { seccompProfile: { type: "RuntimeDefault" } } },
      ],
      ["runAsNonRoot", withContainer({ securityContext: { runAsNonRoot: false } })],
      ["runAsUser", withContainer({ securityContext: { runAsUser: 0 } })],
      [
        "allowPrivilegeEscalation",
        withContainer({ securityContext: { allowPrivilegeEscalation: true } }),
      ],
      [
        "capabilities_restricted",
        withContainer({ securityContext: { capabilities: { drop: ["NET_RAW"] } } }),
      ],
      [
        "capabilities_restricted",
        withContainer({ securityContext: { capabilities: { drop: ["ALL"], add: ["CHOWN"] } } }),
      ],
      [
        "restrictedVolumes",
        { ...restrictedPod(), volumes: [{ name: "share", nfs: { server: "x" } }] },
      ],
    ];
    for (const [check, pod] of cases) {
      expect(
        violations("restricted", pod).some((v) => v.startsWith(`${check}:`)),
        check,
      ).toBe(true);
      expect(strictestLevel(pod), check).toBe("baseline");
    }
    // NET_BIND_SERVICE is the one capability restricted lets a container add.
    expect(
      strictestLevel(
        withContainer({
          securityContext: { capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] } },
        }),
      ),
    ).toBe("restricted");
  });

  test("privileged-only: host namespaces, hostPath, privileged, host ports, extra capabilities, unsafe sysctls", () => {
    const cases: [string, PodSpec][] = [
      ["hostNamespaces", { ...restrictedPod(), hostNetwork: true }],
      ["hostNamespaces", { ...restrictedPod(), hostPID: true }],
      ["hostNamespaces", { ...restrictedPod(), hostIPC: true }],
      [
        "hostPathVolumes",
        { ...restrictedPod(), volumes: [{ name: "root", hostPath: { path: "/" } }] },
      ],
      ["privileged", withContainer({ securityContext: { privileged: true } })],
      ["hostPorts", withContainer({ ports: [{ hostPort: 9100 }] })],
      [
        "capabilities_baseline",
        withContainer({ securityContext: { capabilities: { add: ["SYS_ADMIN"] } } }),
      ],
      ["procMount", withContainer({ securityContext: { procMount: "Unmasked" } })],
      [
        "seccompProfile_baseline",
        withContainer({ securityContext: { seccompProfile: { type: "Unconfined" } } }),
      ],
      [
        "appArmorProfile",
        withContainer({ securityContext: { appArmorProfile: { type: "Unconfined" } } }),
      ],
      ["seLinuxOptions", withContainer({ securityContext: { seLinuxOptions: { type: "spc_t" } } })],
      [
        "sysctls",
        {
          ...restrictedPod(),
          securityContext: {
            ...restrictedPod().securityContext,
            sysctls: [{ name: "kernel.msgmax" }],
          },
        },
      ],
      [
        "hostProbesAndHostLifecycle",
        withContainer({ livenessProbe: { httpGet: { host: "10.0.0.1" } } }),
      ],
    ];
    for (const [check, pod] of cases) {
      expect(
        violations("baseline", pod).some((v) => v.startsWith(`${check}:`)),
        check,
      ).toBe(true);
      expect(strictestLevel(pod), check).toBe("privileged");
    }
    // Init containers count as much as the others.
    const init = restrictedPod();
    init.initContainers = [{ name: "setup", securityContext: { privileged: true } }];
    expect(strictestLevel(init)).toBe("privileged");
    // A deprecated AppArmor annotation other than runtime/default or localhost/* too.
    expect(
      strictestLevel(restrictedPod(), {
        annotations: { "container.apparmor.security.beta.kubernetes.io/app": "unconfined" },
      }),
    ).toBe("privileged");
    // Safe sysctls and the default AppArmor profile stay restricted.
    const safe = restrictedPod();
    safe.securityContext = {
      ...safe.securityContext,
      sysctls: [{ name: "net.ipv4.ip_local_port_range" }],
    };
    expect(
      strictestLevel(safe, {
        annotations: { "container.apparmor.security.beta.kubernetes.io/app": "runtime/default" },
      }),
    ).toBe("restricted");
  });

  test("the strictest level of several pods is the weakest of theirs", () => {
    expect(strictestLevelOfAll(["restricted", "baseline", "restricted"])).toBe("baseline");
    expect(strictestLevelOfAll(["restricted"])).toBe("restricted");
    expect(strictestLevelOfAll(["privileged", "restricted"])).toBe("privileged");
  });
});
