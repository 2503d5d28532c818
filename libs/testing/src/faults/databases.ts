import { Client } from 'pg';

/** Drops and creates `database` on the server of `serverUrl`; returns its URL. */
export async function recreateDatabase(serverUrl: string, database: string): Promise<string> {
  const url = databaseOn(serverUrl, database);
  await dropDatabase(url);
  await withAdmin(serverUrl, (client) => client.query(`CREATE DATABASE "${database}"`));
  return url;
}

/** DROP DATABASE … WITH (FORCE): also ends the connections a killed service may have left behind. */
export async function dropDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  await withAdmin(url, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

export function databaseOn(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function withAdmin<T>(serverUrl: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: databaseOn(serverUrl, 'postgres') });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
