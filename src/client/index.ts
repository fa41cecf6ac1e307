// The typed Rapport client: openapi-fetch over the types generated from /openapi.json
// (src/client/schema.ts, `npm run client:generate`). Paths, parameters, bodies and answers are
// checked by the compiler; errors come back as RFC 9457 problems in `error`.
//
//   const rapport = createRapportClient({ baseUrl: "http://localhost:3000", apiKey: process.env.RAPPORT_API_KEY! });
//   const { data, error } = await rapport.POST("/v1/messages", { body: { to: { email: "ada@example.com" }, template: "welcome", topic: "news" } });
import createClient, { type Client, type ClientOptions } from "openapi-fetch";
import type { components, paths } from "./schema.ts";

export type { components, operations, paths } from "./schema.ts";
export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];
export type RapportClient = Client<paths>;

export interface RapportClientOptions extends Omit<ClientOptions, "baseUrl"> {
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
}

export function createRapportClient({ baseUrl, apiKey, headers, ...rest }: RapportClientOptions): RapportClient {
  return createClient<paths>({
    baseUrl: baseUrl.replace(/\/+$/, ""),
    headers: { ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}), ...(headers as Record<string, string> | undefined) },
    ...rest,
  });
}
