// Tempo's service-graphs processor against cases from its own tests (grafana/tempo v2.10.8,
// modules/generator/processor/servicegraphs/servicegraphs_test.go `TestServiceGraphs_virtualNodes`
// and `TestServiceGraphs_databaseVirtualNodes`, with their testdata traces reduced to the spans
// and attributes that decide each edge).
import { describe, expect, test } from "bun:test";
import type { Span } from "./collected.ts";
import { serviceGraphEdges } from "./tempo-generator.ts";

const defaults = {
  dimensions: [],
  peerAttributes: ["peer.service", "db.name", "db.system"],
  databaseNameAttributes: ["db.namespace", "db.name", "db.system"],
};

let nextId = 0;
const span = (
  service: string,
  kind: "SERVER" | "CLIENT" | "PRODUCER" | "CONSUMER",
  parent: Span | undefined,
  attributes: Record<string, string> = {},
): Span => ({
  traceId: "0102030405060708090a0b0c0d0e0f10",
  spanId: (++nextId).toString(16).padStart(16, "0"),
  parentSpanId: parent?.spanId ?? "",
  name: `${service} ${kind}`,
  kind: `SPAN_KIND_${kind}`,
  attributes,
  status: { code: "STATUS_CODE_UNSET" },
  startTimeUnixNano: "1",
  endTimeUnixNano: "2",
  resource: { attributes: { "service.name": service } },
  scope: { name: "s", version: "" },
});

const labels = (spans: Span[]) =>
  serviceGraphEdges(spans, defaults).map(({ client, server, connectionType }) => ({
    client,
    server,
    connection_type: connectionType,
  }));

describe("virtual nodes (TestServiceGraphs_virtualNodes)", () => {
  test("a root SERVER span is called by user", () => {
    expect(labels([span("mythical-server", "SERVER", undefined)])).toEqual([
      { client: "user", server: "mythical-server", connection_type: "virtual_node" },
    ]);
  });

  test("a CLIENT span with a peer attribute and no server calls that peer", () => {
    const root = span("mythical-requester", "SERVER", undefined, { "peer.service": "x" });
    const call = span("mythical-requester", "CLIENT", root, {
      "peer.service": "external-payments-platform",
    });
    expect(labels([root, call])).toContainEqual({
      client: "mythical-requester",
      server: "external-payments-platform",
      connection_type: "virtual_node",
    });
  });

  test("a root CONSUMER span with a peer attribute is called by that peer", () => {
    const consume = span("internal-consumer", "CONSUMER", undefined, {
      "peer.service": "external-producer",
    });
    expect(labels([consume])).toEqual([
      { client: "external-producer", server: "internal-consumer", connection_type: "virtual_node" },
    ]);
  });

  test("a SERVER span whose CLIENT parent is missing, and a bare CLIENT span, make no edge", () => {
    const missing = { ...span("a", "CLIENT", undefined), spanId: "ffffffffffffffff" };
    expect(labels([span("b", "SERVER", missing), span("c", "CLIENT", undefined)])).toEqual([]);
  });

  test("a CLIENT span and the SERVER span it calls are one plain edge, in either order", () => {
    const root = span("gateway", "SERVER", undefined);
    const call = span("gateway", "CLIENT", root);
    const served = span("users", "SERVER", call);
    const edge = { client: "gateway", server: "users", connection_type: "" };
    expect(labels([root, call, served])).toContainEqual(edge);
    expect(labels([served, call])).toEqual([edge]);
  });

  test("a PRODUCER and its CONSUMER are a messaging_system edge", () => {
    const produce = span("mythical-requester", "PRODUCER", undefined);
    expect(labels([produce, span("mythical-recorder", "CONSUMER", produce)])).toEqual([
      {
        client: "mythical-requester",
        server: "mythical-recorder",
        connection_type: "messaging_system",
      },
    ]);
  });
});

describe("database edges (TestServiceGraphs_databaseVirtualNodes)", () => {
  const root = span("mythical-server", "SERVER", undefined);
  const query = (attributes: Record<string, string>) =>
    labels([root, span("mythical-server", "CLIENT", root, attributes)]).filter(
      (edge) => edge.connection_type === "database",
    );
  const to = (server: string) => [
    { client: "mythical-server", server, connection_type: "database" },
  ];

  test.each([
    // dbNamespaceAttribute: db.namespace names the database; net.peer.name (old) is not read.
    [
      "dbNamespaceAttribute",
      { "db.namespace": "mydb", "net.peer.name": "mythical-database" },
      "mydb",
    ],
    // bothDbNameAndNamespace: db.namespace comes first.
    [
      "bothDbNameAndNamespace",
      { "db.name": "postgres", "db.namespace": "priority-db" },
      "priority-db",
    ],
    // semconv118: db.name.
    ["semconv118", { "db.name": "postgres", "db.system": "postgresql" }, "postgres"],
    // semconv125PeerService / server.address / network.peer.address (with the port if set).
    [
      "semconv125PeerService",
      { "db.name": "x", "peer.service": "mythical-database" },
      "mythical-database",
    ],
    ["semconv125", { "db.name": "x", "server.address": "mythical-database" }, "mythical-database"],
    [
      "semconv125NetworkPeerWithPort",
      { "db.name": "x", "network.peer.address": "mythical-database", "network.peer.port": "5432" },
      "mythical-database:5432",
    ],
    [
      "semconv125NetworkPeerWithoutPort",
      { "db.name": "x", "network.peer.address": "mythical-database" },
      "mythical-database",
    ],
  ])("%s", (_, attributes, server) => {
    expect(query(attributes)).toEqual(to(server));
  });

  test("db.system.name alone (the current convention) does not make a database edge", () => {
    expect(query({ "db.system.name": "postgresql" })).toEqual([]);
  });
});
