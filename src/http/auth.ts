/** The shared API token (API_TOKEN): `Authorization: Bearer …` on HTTP, `connectionParams.authorization` on WebSocket. */
export function bearer(header: string | undefined): string | undefined {
  return header?.startsWith('Bearer ') ? header.slice(7) : undefined;
}

/** True when no token is configured, or the header carries it. */
export function authorised(apiToken: string | undefined, header: unknown): boolean {
  if (!apiToken) return true;
  return typeof header === 'string' && bearer(header) === apiToken;
}
