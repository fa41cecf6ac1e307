// For unit tests: the AppError that fn throws (fails when it throws something else or nothing).
import { AppError } from "../../src/platform/errors.ts";

export const appError = (fn: () => unknown): AppError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error("expected an AppError");
};
