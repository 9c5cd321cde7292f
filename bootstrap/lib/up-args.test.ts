import { describe, expect, test } from "bun:test";
import { CliError } from "../../cli/errors.ts";
import { parseClusterName } from "./up-args.ts";

describe("parseClusterName", () => {
  test("the default, and a name kind would refuse named with its flag", () => {
    expect(parseClusterName(undefined, {})).toBe("observability-sandbox");
    expect(parseClusterName(undefined, { BOOTSTRAP_CLUSTER_NAME: "lab" })).toBe("lab");
    expect(() => parseClusterName("Bad_Name", {})).toThrow(
      new CliError('--cluster-name "Bad_Name" is not a valid cluster name'),
    );
  });
});
