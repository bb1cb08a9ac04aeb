// Who is signed in: the OAuth 2.0 authorization code flow with PKCE against Cognito managed login,
// through oidc-client-ts (portal/vendor, the global `oidc`). Tokens live in this tab's
// sessionStorage, never localStorage, and are renewed with the refresh token before they expire.

const RENEW_BEFORE_SECONDS = 60;

/** The portal's place (path, query, fragment), to come back to after a sign-in. */
export function currentPlace(location) {
  return location.pathname + location.search + location.hash;
}

/**
 * The element id a URL fragment (`#studio`) names, or null. A fragment that is not valid
 * percent-encoding (`#%`) names nothing: anyone can send a link with one, and it must not stop the page.
 */
export function fragmentId(hash) {
  if (typeof hash !== "string" || hash.length < 2) return null;
  try {
    return decodeURIComponent(hash.slice(1));
  } catch {
    return null;
  }
}

/** True when `url` is the sign-in's return to the portal (`?code=...&state=...` or `?error=...`). */
export function isSignInReturn(url) {
  const params = new URL(url).searchParams;
  return params.has("state") && (params.has("code") || params.has("error"));
}

/** Only a path on this site may be returned to, never another origin. */
export function safePlace(place) {
  return typeof place === "string" && place.startsWith("/") && !place.startsWith("//") ? place : "/";
}

const REVOKE_TIMEOUT_MS = 5000;

/**
 * Cognito's revocation endpoint (`POST {domain}/oauth2/revoke`, form `token` and `client_id` for a
 * client without a secret): the refresh token and the tokens issued from it can no longer be
 * renewed. Resolves to true when Cognito answered 200.
 * https://docs.aws.amazon.com/cognito/latest/developerguide/revocation-endpoint.html
 */
export async function revokeRefreshToken({ cognitoDomain, clientId }, refreshToken, fetchImpl = fetch) {
  const response = await fetchImpl(new URL("/oauth2/revoke", cognitoDomain), {
    method: "POST",
    // A form body is a "simple" request: no CORS preflight is needed to send it.
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: refreshToken, client_id: clientId }).toString(),
    credentials: "omit",
    cache: "no-store",
    referrerPolicy: "no-referrer",
    signal: AbortSignal.timeout(REVOKE_TIMEOUT_MS),
  });
  return response.ok;
}

export class Session {
  constructor(config, { location = window.location, storage = window.sessionStorage } = {}) {
    this.config = config;
    this.location = location;
    this.redirectUri = `${location.origin}/`;
    const store = new oidc.WebStorageStateStore({ store: storage });
    this.manager = new oidc.UserManager({
      authority: config.authority,
      client_id: config.clientId,
      redirect_uri: this.redirectUri,
      post_logout_redirect_uri: this.redirectUri,
      response_type: "code",
      scope: "openid email profile",
      userStore: store,
      stateStore: store, // the PKCE verifier too: oidc-client-ts would put it in localStorage
      automaticSilentRenew: true,
      accessTokenExpiringNotificationTimeInSeconds: RENEW_BEFORE_SECONDS,
      loadUserInfo: false,
    });
  }

  /** Finishes a sign-in the browser has just returned from; resolves to the place to go back to. */
  async completeSignIn() {
    const user = await this.manager.signinRedirectCallback(this.location.href);
    return safePlace(user.state?.place);
  }

  /**
   * The signed-in user of this tab, renewed first if the access token has expired. `ended` says a
   * session was there but could not be renewed (the person should sign in again).
   */
  async restore() {
    const stored = await this.manager.getUser();
    if (!stored) return { user: null, ended: false };
    const user = stored.expired ? await this.renew() : stored;
    return { user, ended: user === null };
  }

  /** A new access token from the refresh token; null when that is no longer possible. */
  async renew() {
    try {
      return await this.manager.signinSilent();
    } catch {
      await this.manager.removeUser();
      return null;
    }
  }

  /** An access token that stays valid for the next minute at least. */
  async freshAccessToken() {
    let user = await this.manager.getUser();
    if (user && (user.expires_in ?? 0) < RENEW_BEFORE_SECONDS) user = await this.renew();
    if (!user) throw new Error("signed out");
    return user.access_token;
  }

  /** Off to managed login; back at `place` afterwards. */
  signIn(place = currentPlace(this.location)) {
    // With company sign-in only, managed login sends the browser on to the provider at once
    // (`identity_provider`), instead of showing a page with one button on it.
    const { identityProvider } = this.config;
    return this.manager.signinRedirect({
      state: { place: safePlace(place) },
      ...(identityProvider ? { extraQueryParams: { identity_provider: identityProvider } } : {}),
    });
  }

  /**
   * Revokes the refresh token (so no one holding it can renew this session), forgets the tokens
   * here, then ends the managed login session too (Cognito's `/logout`). Access tokens already
   * issued stay valid until they expire: API Gateway's authorizer does not ask Cognito.
   */
  async signOut() {
    const user = await this.manager.getUser();
    if (user?.refresh_token) {
      try {
        await revokeRefreshToken(this.config, user.refresh_token);
      } catch {
        // Cognito unreachable: signing out here still goes on; the token leaves this tab below.
      }
    }
    await this.manager.removeUser();
    await this.manager.clearStaleState();
    const logout = new URL("/logout", this.config.cognitoDomain);
    logout.searchParams.set("client_id", this.config.clientId);
    logout.searchParams.set("logout_uri", this.redirectUri);
    this.location.assign(logout.toString());
  }

  /** Calls `listener` when renewal failed and the access token has run out. */
  onEnded(listener) {
    this.manager.events.addAccessTokenExpired(listener);
  }
}

/** The display name of a signed-in user. */
export function displayName(profile) {
  return profile.email || profile["cognito:username"] || profile.username || profile.sub;
}
