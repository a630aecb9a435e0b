// Vitest globalSetup for the `unit` project: one throwaway PostgreSQL cluster per run, shared by
// every worker through `provide`. Tests reach it with tools/testing/postgres.ts.
import type { TestProject } from "vitest/node";
import { postgresUnavailableReason, startThrowawayCluster } from "./postgres-cluster";

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  // An existing server (e.g. a CI service container) instead of a throwaway cluster.
  const external = process.env.RMM_TEST_POSTGRES_URL;
  if (external !== undefined && external !== "") {
    project.provide("postgresUrl", external);
    project.provide("postgresSkipReason", null);
    return undefined;
  }
  const reason = process.env.RMM_TEST_POSTGRES === "0" ? "RMM_TEST_POSTGRES=0" : postgresUnavailableReason();
  if (reason !== undefined) {
    if (process.env.CI === "true") {
      throw new Error(`CI=true but the PostgreSQL variant of the database tests cannot run: ${reason}`);
    }
    console.warn(`\n[postgres] WARNING: ${reason}. Database tests run on PGlite only; their PostgreSQL variant is SKIPPED.\n`);
    project.provide("postgresUrl", null);
    project.provide("postgresSkipReason", reason);
    return undefined;
  }
  const cluster = await startThrowawayCluster();
  console.log(`[postgres] throwaway cluster ${redact(cluster.url)} ready in ${cluster.startMs} ms`);
  project.provide("postgresUrl", cluster.url);
  project.provide("postgresSkipReason", null);
  return async () => {
    await cluster.stop();
  };
}

function redact(url: string): string {
  return url.replace(/:[^:@/]+@/, ":***@");
}
