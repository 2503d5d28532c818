import { z } from 'zod';
import { ConfigError } from './config-error';

/**
 * Parses the environment once against a service's schema. Unknown variables are ignored (the process
 * environment is full of them); a missing or malformed known one fails start-up with its name.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): Readonly<z.infer<S>> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = issue.path.join('.') || '(environment)';
        const value = issue.path.length === 1 ? env[String(issue.path[0])] : undefined;
        const shown = value === undefined ? 'not set' : `got ${JSON.stringify(redactIfSecret(name, value))}`;
        return `${name}: ${issue.message} (${shown})`;
      }),
    );
  }
  return Object.freeze(parsed.data);
}

const SECRET_NAME = /PASSWORD|SECRET|TOKEN|KEY$|WEBHOOKS$/i;
/** `scheme://user:password@host`: a connection string (DATABASE_URL ...) carries its password inline. */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/]*:)[^\s@/]+@/gi;

/** A config error message ends up in logs; never echo a secret's value, nor a password inside a URL. */
function redactIfSecret(name: string, value: string): string {
  return SECRET_NAME.test(name) ? '[redacted]' : value.replace(URL_PASSWORD, '$1[redacted]@');
}
