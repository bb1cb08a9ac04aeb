// The portal's config and the sign-in's pure parts.
import assert from "node:assert/strict";
import { test } from "node:test";

import { parseConfig } from "../../portal/js/config.js";
import { currentPlace, displayName, fragmentId, isSignInReturn, revokeRefreshToken, safePlace } from "../../portal/js/session.js";

const CONFIG = {
  apiUrl: "https://abc.execute-api.eu-west-1.amazonaws.com/",
  region: "eu-west-1",
  userPoolId: "eu-west-1_Abc",
  clientId: "client123",
  cognitoDomain: "https://gate.auth.eu-west-1.amazoncognito.com/",
};

test("the authority is the pool's issuer unless config.json names one", () => {
  const config = parseConfig(CONFIG);
  assert.equal(config.authority, "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc");
  assert.equal(config.apiUrl, "https://abc.execute-api.eu-west-1.amazonaws.com");
  assert.equal(config.cognitoDomain, "https://gate.auth.eu-west-1.amazoncognito.com");
  assert.equal(parseConfig({ ...CONFIG, authority: "http://127.0.0.1:9/p" }).authority, "http://127.0.0.1:9/p");
});

test("a config.json that lacks a setting or has a bad URL is refused by name", () => {
  assert.throws(() => parseConfig({ ...CONFIG, clientId: "" }), /lacks clientId/);
  assert.throws(() => parseConfig({ ...CONFIG, apiUrl: "javascript:alert(1)" }), /apiUrl must be an http\(s\) URL/);
  assert.throws(() => parseConfig(null), /not a JSON object/);
});

test("a company identity provider to go straight to is a provider name or nothing", () => {
  assert.equal(parseConfig(CONFIG).identityProvider, "");
  assert.equal(parseConfig({ ...CONFIG, identityProvider: "Company" }).identityProvider, "Company");
  for (const bad of ["Entra ID", "a_b", "x".repeat(33), 7]) {
    assert.throws(() => parseConfig({ ...CONFIG, identityProvider: bad }), /identityProvider must be/, String(bad));
  }
});

test("only a sign-in's return is taken for one", () => {
  assert.equal(isSignInReturn("https://p.example/?code=abc&state=xyz"), true);
  assert.equal(isSignInReturn("https://p.example/?error=access_denied&state=xyz"), true);
  assert.equal(isSignInReturn("https://p.example/?code=abc"), false);
  assert.equal(isSignInReturn("https://p.example/#studio"), false);
});

test("the place to return to stays on this site", () => {
  assert.equal(currentPlace({ pathname: "/", search: "", hash: "#studio" }), "/#studio");
  assert.equal(safePlace("/#studio"), "/#studio");
  for (const bad of ["//evil.example/", "https://evil.example/", "javascript:alert(1)", undefined]) {
    assert.equal(safePlace(bad), "/", String(bad));
  }
});

test("a person is shown by email, then user name", () => {
  assert.equal(displayName({ email: "a@example.com", "cognito:username": "a" }), "a@example.com");
  assert.equal(displayName({ "cognito:username": "alice", sub: "s" }), "alice");
});

test("a fragment names an element, and one that does not decode names nothing", () => {
  assert.equal(fragmentId("#studio"), "studio");
  assert.equal(fragmentId("#a%20b"), "a b");
  for (const bad of ["#%", "#%E0%A4%A", "#", "", undefined]) assert.equal(fragmentId(bad), null, String(bad));
});

test("sign-out revokes the refresh token at Cognito's revocation endpoint, with the client id", async () => {
  let seen;
  const ok = await revokeRefreshToken(parseConfig(CONFIG), "refresh.tok", async (url, init) => {
    seen = { url: String(url), init };
    return new Response("", { status: 200 });
  });
  assert.equal(ok, true);
  assert.equal(seen.url, "https://gate.auth.eu-west-1.amazoncognito.com/oauth2/revoke");
  assert.equal(seen.init.method, "POST");
  assert.equal(seen.init.headers["Content-Type"], "application/x-www-form-urlencoded");
  assert.deepEqual(Object.fromEntries(new URLSearchParams(seen.init.body)), { token: "refresh.tok", client_id: "client123" });
  assert.equal(seen.init.credentials, "omit");
  const refused = await revokeRefreshToken(parseConfig(CONFIG), "t", async () => new Response("{}", { status: 400 }));
  assert.equal(refused, false);
});
