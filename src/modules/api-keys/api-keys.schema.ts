import { z } from "zod";

export const createApiKeySchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  role: z.enum(["admin", "marketer", "developer"]),
});
