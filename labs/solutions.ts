// The labs' reference solutions, as edits to a copy of the tree and the answers to give: the
// tests apply them to prove that each check passes once its lab is done.
export interface Solution {
  /** file → [text to find, text to put instead] */
  edits: Record<string, [string, string][]>;
  answers: string[];
  /** Answers that look right but are not: the check must refuse them. */
  wrong: string[];
  /** How the check's error begins for the first wrong answer, where a test holds its wording. */
  wrongSays?: string;
  /** Other right answers, written differently: the check must pass them too. */
  alsoRight?: string[][];
}

const samplerEnv: [string, string] = [
  "env:\n",
  'env:\n  OTEL_TRACES_SAMPLER: traceidratio\n  OTEL_TRACES_SAMPLER_ARG: "0.25"\n',
];

export const solutions: Solution[] = [
  {
    edits: {
      "apps/user-service/src/users.ts": [
        [
          "const user = users.get(id);\n",
          'const user = users.get(id);\n            span.setAttribute("app.user.found", user !== undefined);\n',
        ],
      ],
    },
    answers: ['{ resource.service.name = "user-service" && span.app.user.found = false }'],
    wrong: ['{ span.app.user.found = "false" }'],
    wrongSays: "the query selects no span, and ",
  },
  {
    edits: {
      "apps/user-service/src/app.ts": [
        [
          "const { log } = telemetry;\n",
          'const { log, meter } = telemetry;\n  const notFound = meter.createCounter("app.user.not_found", {\n    description: "Lookups of users that do not exist.",\n    unit: "{lookup}",\n  });\n',
        ],
        ["      if (!user) {\n", "      if (!user) {\n        notFound.add(1);\n"],
      ],
    },
    answers: ["sum by (job) (rate(app_user_not_found_total[5m]))"],
    wrong: ["sum(rate(user_lookups_total[5m]))"],
    alsoRight: [['{__name__="app_user_not_found_total"}']],
  },
  {
    edits: {
      "apps/user-service/src/app.ts": [
        [
          'log.info("user found", { "user.id": id });',
          'log.info("user found", {\n        "user.id": id,\n        "app.user.email_domain": user.email.slice(user.email.indexOf("@") + 1),\n      });',
        ],
      ],
    },
    answers: [
      '{service_name="user-service"} | app_user_email_domain="example.com"',
      "GET /users/:id",
    ],
    wrong: ['{service_name="user-service"}', "GET /users/:id"],
  },
  {
    edits: { "gitops/services/user-service.yaml": [['ERROR_RATE: "0"', 'ERROR_RATE: "1"']] },
    answers: ["ServiceAvailabilityBudgetBurn", "5m"],
    wrong: ["ServiceAvailabilityBudgetBurn", "9m"],
  },
  {
    edits: {},
    answers: ['sum by (job, error_type) (otel_sdk_processor_span_processed_total{error_type!=""})'],
    wrong: ["sum by (job) (otel_sdk_processor_span_processed_total)"],
    alsoRight: [['{__name__="otel_sdk_processor_span_processed_total", error_type!=""}']],
  },
  {
    edits: {
      "gitops/services/api-gateway.yaml": [samplerEnv],
      "gitops/services/user-service.yaml": [samplerEnv],
    },
    answers: ["0.25"],
    wrong: ["0.9"],
  },
];

/** Applies a solution's edits to the tree at `root`; each text to find must be there once. */
export async function applySolution(root: string, solution: Solution): Promise<void> {
  for (const [file, edits] of Object.entries(solution.edits)) {
    let text = await Bun.file(`${root}/${file}`).text();
    for (const [find, replace] of edits) {
      if (text.split(find).length !== 2)
        throw new Error(`solution: ${JSON.stringify(find)} is not in ${file} exactly once`);
      text = text.replace(find, replace);
    }
    await Bun.write(`${root}/${file}`, text);
  }
}
