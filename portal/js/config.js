// The portal's settings, from `config.json` beside it: written from the stack's outputs by
// `scripts/portal-config` after `sam deploy`, and served by the local stack for `scripts/dev up`.

const REQUIRED = ["apiUrl", "region", "userPoolId", "clientId", "cognitoDomain"];

/** Checks a parsed `config.json`; returns the settings or throws an Error naming what is wrong. */
export function parseConfig(raw) {
  if (!raw || typeof raw !== "object") throw new Error("config.json is not a JSON object");
  const missing = REQUIRED.filter((key) => typeof raw[key] !== "string" || raw[key].trim() === "");
  if (missing.length) throw new Error(`config.json lacks ${missing.join(", ")}`);
  for (const key of ["apiUrl", "cognitoDomain", "authority"]) {
    if (raw[key] !== undefined && !/^https?:\/\/[^/]/.test(raw[key])) {
      throw new Error(`config.json: ${key} must be an http(s) URL`);
    }
  }
  // The company identity provider to go straight to, when it is the only way in.
  const identityProvider = raw.identityProvider ?? "";
  if (typeof identityProvider !== "string" || !/^([^\s_]{1,32})?$/.test(identityProvider)) {
    throw new Error("config.json: identityProvider must be an identity provider name (1 to 32 characters, no spaces or underscores)");
  }
  return {
    apiUrl: raw.apiUrl.replace(/\/+$/, ""),
    region: raw.region,
    userPoolId: raw.userPoolId,
    clientId: raw.clientId,
    cognitoDomain: raw.cognitoDomain.replace(/\/+$/, ""),
    // Cognito publishes the pool's OpenID configuration under its issuer URL.
    authority: raw.authority ?? `https://cognito-idp.${raw.region}.amazonaws.com/${raw.userPoolId}`,
    identityProvider,
  };
}

export async function loadConfig(fetchImpl = fetch) {
  const response = await fetchImpl("config.json", { cache: "no-cache" });
  if (!response.ok) throw new Error(`config.json could not be loaded (HTTP ${response.status})`);
  return parseConfig(await response.json());
}
