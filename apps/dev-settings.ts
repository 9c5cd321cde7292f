// `bun run dev`'s settings: its flags and the environment variables it and the services read, all
// checked before anything starts, every problem reported at once (as bootstrap's preflight does),
// taken ports included, so nothing is said to listen that cannot.
import { CliError } from "../cli/errors.ts";
import { envPort, parseFlags } from "../cli/flags.ts";
import { readConfig as gatewayConfig } from "./api-gateway/src/app.ts";
import { defaultDevReceiverPort, keptTraces } from "./dev-receiver.ts";
import { SettingError } from "./service-kit/index.ts";
import { readConfig as userServiceConfig } from "./user-service/src/app.ts";

type Env = Record<string, string | undefined>;

// How soon the services export to dev's receiver (the SDK defaults: spans 5 s, logs 1 s, metrics
// 60 s), so a request shows within a second. With --raw the console gets a metric dump every 10 s.
export const devExportDelays = {
  OTEL_BSP_SCHEDULE_DELAY: "100",
  OTEL_BLRP_SCHEDULE_DELAY: "100",
  OTEL_METRIC_EXPORT_INTERVAL: "500",
};
export const rawMetricExportInterval = "10000";

export const usage = `usage: bun run dev [--raw | --stack]

Runs user-service and api-gateway on this machine, the gateway calling user-service; Ctrl-C stops
both. With no OTEL_EXPORTER_OTLP_ENDPOINT their telemetry goes over OTLP to dev's own receiver,
which prints each request as a trace tree, every 10 s a table of the metric streams that changed,
and keeps the last ${keptTraces} traces for \`bun run trace <id>\`.

flags:
  --raw       the SDK's console exporters too (OTEL_{TRACES,METRICS,LOGS}_EXPORTER=console,otlp):
              raw span, metric and log objects instead of trees; metrics every 10 s
  --stack     the same services, their telemetry into grafana/otel-lgtm in Docker: Grafana with
              the project's dashboards (bun run dev --stack --help; docs/stack.md)
  -h, --help  this text

settings are environment variables (there are no --port flags):
  API_GATEWAY_PORT=4000              api-gateway's port
  USER_SERVICE_PORT=4001             user-service's port
  DEV_RECEIVER_PORT=${defaultDevReceiverPort}             dev's OTLP receiver and trace API, on 127.0.0.1
  OTEL_EXPORTER_OTLP_ENDPOINT=<url>  send telemetry to that collector instead (no trees, no receiver)
  OTEL_SDK_DISABLED=true             no telemetry at all
  OTEL_METRIC_EXPORT_INTERVAL=${devExportDelays.OTEL_METRIC_EXPORT_INTERVAL}    ms between metric exports (dev's default; ${rawMetricExportInterval} with --raw)
  OTEL_BSP_SCHEDULE_DELAY=${devExportDelays.OTEL_BSP_SCHEDULE_DELAY}        ms before spans are exported
  OTEL_BLRP_SCHEDULE_DELAY=${devExportDelays.OTEL_BLRP_SCHEDULE_DELAY}       ms before log records are exported
  user-service: QUERY_LATENCY_MS, ERROR_RATE; api-gateway: UPSTREAM_TIMEOUT_MS, USER_SERVICE_URL
  (docs/services.md#settings); other OTEL_* variables: docs/telemetry.md#environment-variables

example: API_GATEWAY_PORT=5000 QUERY_LATENCY_MS=50 bun run dev`;

export interface DevSettings {
  raw: boolean;
  gatewayPort: number;
  userServicePort: number;
  receiverPort: number;
  /** Where telemetry goes: nowhere, the user's collector, or dev's receiver. */
  telemetry: "off" | "collector" | "receiver";
  /** USER_SERVICE_URL for the gateway: the user's, or the local user-service. */
  userServiceUrl: string;
}

interface Problem {
  problem: string;
  fix: string;
  /** `VAR=value`, when the fix is just that: fixes of several problems then make one command. */
  assignment?: string;
}

const command = "bun run dev";

/** Several problems: each on its own FAIL and fix lines (`lines`), then one error and one fix. */
export class SettingsProblems extends CliError {
  constructor(
    readonly lines: string[],
    message: string,
    fix: string,
  ) {
    super(message, fix);
  }
}

/** A problem from a CliError or SettingError; anything else is a bug and is thrown on. */
function problemOf(error: unknown, prefix = ""): Problem {
  if (error instanceof SettingError)
    return {
      problem: `${prefix}${error.message}`,
      fix: `${error.variable}=${error.fallback} ${command}`,
      assignment: `${error.variable}=${error.fallback}`,
    };
  if (error instanceof CliError) {
    const assignment = error.fix?.match(/^([A-Z_]+=\S+) bun run dev$/)?.[1];
    return { problem: `${prefix}${error.message}`, fix: error.fix ?? "", assignment };
  }
  throw error;
}

/** Can something listen on this port now? Bound as the services bind (all interfaces) or as the receiver does. */
function isFree(port: number, hostname?: string): boolean {
  try {
    Bun.serve({ port, hostname, fetch: () => new Response() }).stop(true);
    return true;
  } catch {
    return false;
  }
}

/** The first port after `port` that is free now, for a fix that works. */
function nextFree(port: number, taken: Set<number>, hostname?: string): number {
  for (let candidate = port + 1; candidate < port + 100 && candidate <= 65535; candidate++)
    if (!taken.has(candidate) && isFree(candidate, hostname)) return candidate;
  return port + 1;
}

/** Reads and checks everything; throws one CliError that lists every problem. */
export function readDevSettings(argv: string[], env: Env): DevSettings | "help" {
  const problems: Problem[] = [];
  // The ports are variables; a --port flag (or --gateway-port …) gets a fix that says so.
  const portFlag = argv.findIndex((arg) => /^--?[\w-]*port(=|$)/i.test(arg));
  if (portFlag >= 0) {
    const [flag = "", inline] = (argv[portFlag] as string).split("=");
    const value = inline ?? argv[portFlag + 1] ?? "4000";
    const port = /^\d+$/.test(value) ? value : "4000";
    throw new CliError(
      `there is no ${flag} flag: the ports are environment variables`,
      `API_GATEWAY_PORT=${port} ${command} (and USER_SERVICE_PORT, DEV_RECEIVER_PORT; ${command} --help lists every setting)`,
    );
  }
  const { values } = parseFlags(command, argv, {
    help: { type: "boolean", short: "h" },
    raw: { type: "boolean" },
  });
  if (values.help) return "help";

  const invalid: { name: string; fallback: number; hostname?: string; error: CliError }[] = [];
  const port = (name: string, fallback: number, hostname?: string): number | undefined => {
    try {
      return envPort(env, name, fallback, command);
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      invalid.push({ name, fallback, hostname, error });
      return undefined;
    }
  };
  const gatewayPort = port("API_GATEWAY_PORT", 4000);
  const userServicePort = port("USER_SERVICE_PORT", 4001);
  const receiverPort = port("DEV_RECEIVER_PORT", defaultDevReceiverPort, "127.0.0.1");
  // An invalid port's fix proposes its default only if that is free now (a first dev may hold
  // 4000, 4001 and 4318), else the next free one; never one the other settings name.
  const named = new Set(
    [gatewayPort, userServicePort, receiverPort].filter((p) => p !== undefined),
  );
  for (const { name, fallback, hostname, error } of invalid) {
    const free =
      !named.has(fallback) && isFree(fallback, hostname)
        ? fallback
        : nextFree(fallback, named, hostname);
    named.add(free);
    problems.push({
      problem: error.message,
      fix: `${name}=${free} ${command}`,
      assignment: `${name}=${free}`,
    });
  }

  const disabled = env.OTEL_SDK_DISABLED?.trim().toLowerCase() ?? "";
  if (!["", "true", "false"].includes(disabled))
    problems.push({
      problem: `OTEL_SDK_DISABLED must be true or false, got ${JSON.stringify(env.OTEL_SDK_DISABLED)}`,
      fix: `OTEL_SDK_DISABLED=false ${command} (or =true: no telemetry at all)`,
      assignment: "OTEL_SDK_DISABLED=false",
    });
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (endpoint && !/^https?:\/\/./.test(endpoint))
    problems.push({
      problem: `OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL, got ${JSON.stringify(endpoint)}`,
      fix: `OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 ${command} (or unset it: dev's own receiver)`,
    });
  // Only "true" switches telemetry off, as in the services (the specification's Boolean).
  const telemetry = disabled === "true" ? "off" : endpoint ? "collector" : "receiver";

  // The delays dev sets: the SDK would ignore a bad one with a warning (and wait 60 s for metrics).
  for (const [name, devValue] of Object.entries(devExportDelays)) {
    const raw = env[name]?.trim();
    if (raw && !(/^\d+$/.test(raw) && Number(raw) > 0))
      problems.push({
        problem: `${name} must be a whole number of milliseconds above 0, got ${JSON.stringify(raw)}`,
        fix: `${name}=${devValue} ${command} (or unset: dev's own ${devValue} ms)`,
        assignment: `${name}=${devValue}`,
      });
  }

  // Each service's settings by its own rules (readConfig), all of them: a bad one is reported and
  // set to its default, and the service's settings read again, until none is left.
  const userServiceUrl =
    env.USER_SERVICE_URL?.trim() || `http://localhost:${userServicePort ?? 4001}`;
  const checkService = (service: string, readConfig: (env: Env) => unknown, extra: Env) => {
    const trial: Env = { ...env, ...extra };
    for (;;) {
      try {
        return void readConfig(trial);
      } catch (error) {
        problems.push(problemOf(error, `${service}: `));
        if (!(error instanceof SettingError)) return;
        trial[error.variable] = error.fallback;
      }
    }
  };
  checkService("user-service", userServiceConfig, { PORT: String(userServicePort ?? 4001) });
  checkService("api-gateway", gatewayConfig, {
    PORT: String(gatewayPort ?? 4000),
    USER_SERVICE_URL: userServiceUrl,
  });

  // The ports: distinct, and free now (the receiver's only if it will run).
  const ports: [string, number | undefined, string | undefined][] = [
    ["API_GATEWAY_PORT", gatewayPort, undefined],
    ["USER_SERVICE_PORT", userServicePort, undefined],
    ...(telemetry === "receiver"
      ? [["DEV_RECEIVER_PORT", receiverPort, "127.0.0.1"] as [string, number | undefined, string]]
      : []),
  ];
  const used = new Set(ports.map(([, p]) => p).filter((p) => p !== undefined));
  const seen = new Map<number, string>();
  for (const [name, value, hostname] of ports) {
    if (value === undefined) continue;
    const other = seen.get(value);
    seen.set(value, name);
    if (!other && isFree(value, hostname)) continue;
    const free = nextFree(value, used, hostname);
    used.add(free);
    problems.push(
      other
        ? {
            problem: `port ${value} (${name}) is also ${other}`,
            fix: `${name}=${free} ${command}`,
            assignment: `${name}=${free}`,
          }
        : {
            problem: `port ${value} (${name}) is already in use: is another bun run dev running?`,
            fix: `stop what listens on ${value}, or ${name}=${free} ${command}`,
            assignment: `${name}=${free}`,
          },
    );
  }

  if (problems.length === 1) {
    const [only] = problems as [Problem];
    throw new CliError(only.problem, only.fix);
  }
  if (problems.length > 1) {
    const lines = problems.flatMap(({ problem, fix }) => [
      `  FAIL  ${problem}`,
      `        fix: ${fix}`,
    ]);
    // One command that fixes them all, when each fix is a setting.
    const all = problems.every((p) => p.assignment)
      ? `${problems.map((p) => p.assignment).join(" ")} ${command}`
      : `fix the items marked FAIL above, then run ${command} again`;
    throw new SettingsProblems(
      lines,
      `${problems.length} problems with the settings; nothing was started`,
      all,
    );
  }
  return {
    raw: values.raw ?? false,
    gatewayPort: gatewayPort as number,
    userServicePort: userServicePort as number,
    receiverPort: receiverPort as number,
    telemetry,
    userServiceUrl,
  };
}
