"""A minimal OpenID provider in front of moto's Cognito, standing in for Cognito managed login
(moto has none): discovery, an `/oauth2/authorize` sign-in form whose password check is moto's
`InitiateAuth`, one-time codes bound to the PKCE challenge, `/oauth2/token` (authorization code and
refresh token grants), `/oauth2/revoke` and `/logout`. It keeps Cognito's rules where the portal
meets them: exact redirect URIs, S256 only, a code is good once for 5 minutes, the token and
revocation endpoints answer CORS, a revoked refresh token is refused, the sign-in form carries a
CSRF token bound to a cookie, and a sign-in leaves a session cookie so a second sign-in needs no
password until `/logout`.

With a `Federation` it also signs people in through one company OpenID Connect provider, as a pool
with a `UserPoolIdentityProvider` does: `identity_provider=<name>` (or any sign-in, when the
provider is the only one) goes to the provider, and `/oauth2/idpresponse` exchanges its code, checks
its ID token, maps its claims to pool attributes and has the stand-in (`/_federated_sign_in`) make
or update the federated user and issue that user's tokens.

The tokens are moto's, signed by its key: the local API Gateway verifies them against its JWKS."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import jwt
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from local.login_pages import page, redirect
from local.serve import Server

CODE_LIFETIME_SECONDS = 300  # Cognito's authorization codes are valid for 5 minutes
SESSION_COOKIE = "local-managed-login"
# Cognito's managed login uses the same double-submit pair: an XSRF-TOKEN cookie and a `_csrf`
# field in its sign-in form. Loopback origins on other ports are same-site, so SameSite=Lax alone
# would not stop a page on another local port from posting the form: the pair does.
CSRF_COOKIE = "XSRF-TOKEN"
CSRF_FIELD = "_csrf"


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Federation:
    """The one OIDC identity provider the pool federates to, as the template's
    `UserPoolIdentityProvider` describes it, and where the stand-in signs its people in."""

    issuer: str  # the provider's issuer; its discovery document is under it
    client_id: str
    client_secret: str = field(repr=False)
    page: str  # the SageMaker/Cognito stand-in's page server, which serves /_federated_sign_in
    name: str = "Company"
    type: str = "OIDC"
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    # pool attribute -> provider claim, Cognito's AttributeMapping
    attribute_mapping: dict[str, str] = field(default_factory=lambda: {
        "email": "email", "name": "name", "custom:provider_groups": "groups"})
    provider_only: bool = False  # the app client supports this provider alone: no password form


def attribute_value(claim, provider_type: str = "OIDC") -> str:
    """A claim as Cognito stores it in a String attribute. A list from an OpenID Connect provider
    keeps its JSON text (`["a","b"]`); SAML's multi-valued attribute is flattened to `[a, b]` (no
    quotes; `[]` when empty). The sign-in trigger reads each kind as its provider type says
    (`IDENTITY_PROVIDER_TYPE`); which exact text a real pool stores is one of the things only a
    real account shows (docs/deploy.md). A boolean is `true`/`false`."""
    if isinstance(claim, list):
        if provider_type == "SAML":
            return "[" + ", ".join(str(item) for item in claim) + "]"
        return json.dumps(claim, separators=(",", ":"), ensure_ascii=False)
    if isinstance(claim, bool):
        return "true" if claim else "false"
    return str(claim)


class FederationRefused(Exception):
    """A federated sign-in that cannot finish: `request` is the app's authorize request, to send
    `error` back to, or None when nothing says which app asked (then only an error page is safe)."""

    def __init__(self, request: dict | None, error: str, description: str):
        super().__init__(description)
        self.request, self.error, self.description = request, error, description


# Server-to-server calls go straight to loopback: a proxy from the environment must never see the
# client secret or the provider's tokens.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _call(url: str, *, form: dict | None = None, body=None) -> tuple[int, object]:
    """GET `url`, or POST it a form or a JSON `body`: the status and the JSON answer (None when the
    answer is not JSON). A provider that cannot be reached raises OSError."""
    data, headers = None, {"Accept": "application/json"}
    if form is not None:
        data = urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with _DIRECT.open(request, timeout=10) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, None


class FederatedSignIn:
    """Managed login's side of federation to one OIDC provider: the redirect there with a state
    and a nonce of its own, and, when the browser comes back, the code exchanged (the client secret
    in the form body, client_secret_post), the ID token checked against the provider's keys, the
    claims mapped to pool attributes and the federated user signed in at the stand-in."""

    def __init__(self, federation: Federation, pool_id: str, app_client_id: str):
        self.federation = federation
        self.pool_id = pool_id
        self.app_client_id = app_client_id
        self.lock = threading.Lock()
        self.pending: dict[str, dict] = {}  # our state at the provider -> the app's request, nonce
        self._metadata: dict | None = None
        self._keys: jwt.PyJWKSet | None = None

    def metadata(self) -> dict:
        """The provider's discovery document, read once (on first use: it may start after us)."""
        if self._metadata is None:
            status, metadata = _call(self.federation.issuer.rstrip("/") + "/.well-known/openid-configuration")
            if status != 200 or not isinstance(metadata, dict) or metadata.get("issuer") != self.federation.issuer:
                raise OSError("the identity provider's discovery document is missing or names another issuer")
            self._metadata = metadata
        return self._metadata

    def signing_key(self, id_token: str):
        """The provider's key that signed `id_token`; the key set is read again once for a key id
        it lacks (the provider rotated its keys)."""
        kid = jwt.get_unverified_header(id_token).get("kid")
        for fresh in (self._keys is None, True):
            if fresh:
                status, keys = _call(self.metadata()["jwks_uri"])
                if status != 200 or not isinstance(keys, dict):
                    raise jwt.PyJWKClientError("the provider's key set could not be read")
                self._keys = jwt.PyJWKSet.from_dict(keys)
            try:
                return self._keys[kid].key
            except KeyError:
                continue
        raise jwt.PyJWKClientError("no key of the provider's has the token's key id")

    def start(self, request: dict, redirect_uri: str) -> str:
        """Where to send the browser for the app's `request`; `redirect_uri` is our idpresponse."""
        authorize = self.metadata()["authorization_endpoint"]
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        with self.lock:
            self.pending[state] = {"request": request, "nonce": nonce, "redirect_uri": redirect_uri}
        return f"{authorize}?" + urlencode({
            "client_id": self.federation.client_id, "redirect_uri": redirect_uri, "response_type": "code",
            "scope": " ".join(self.federation.scopes), "state": state, "nonce": nonce,
        })

    def finish(self, answer: dict) -> tuple[dict, dict]:
        """The app's request and the stand-in's tokens for the provider's `answer` (the query of
        its redirect back), or FederationRefused."""
        with self.lock:
            pending = self.pending.pop(answer.get("state", ""), None)  # a state is good once
        if pending is None:
            raise FederationRefused(None, "invalid_request", "Invalid state")
        request = pending["request"]
        if "error" in answer or not answer.get("code"):
            raise FederationRefused(request, "access_denied", "The identity provider did not sign the user in")
        status, tokens = _call(self.metadata()["token_endpoint"], form={
            "grant_type": "authorization_code", "code": answer["code"], "redirect_uri": pending["redirect_uri"],
            "client_id": self.federation.client_id, "client_secret": self.federation.client_secret,
        })
        if status != 200 or not isinstance(tokens, dict) or not isinstance(tokens.get("id_token"), str):
            raise FederationRefused(request, "invalid_request", "The identity provider did not issue tokens")
        claims = self.verify(request, tokens["id_token"], pending["nonce"])
        status, result = _call(self.federation.page + "/_federated_sign_in", body={
            "userPoolId": self.pool_id, "clientId": self.app_client_id,
            "providerName": self.federation.name, "providerType": self.federation.type,
            "subject": claims["sub"], "attributes": self.attributes(claims),
        })
        if status == 200 and isinstance(result, dict) and "AuthenticationResult" in result:
            return request, result["AuthenticationResult"]
        if 400 <= status < 500:  # the pool refused the user (a trigger failed, say): the app is told
            message = result.get("message") or result.get("Message") if isinstance(result, dict) else None
            raise FederationRefused(request, "invalid_request", message or "The user pool refused the sign-in")
        raise OSError(f"the stand-in's /_federated_sign_in answered {status}")

    def verify(self, request: dict, id_token: str, nonce: str) -> dict:
        """The ID token's claims, once its signature, issuer, audience, expiry and nonce hold."""
        try:
            claims = jwt.decode(id_token, self.signing_key(id_token), algorithms=["RS256"],
                                audience=self.federation.client_id, issuer=self.federation.issuer,
                                options={"require": ["iss", "aud", "sub", "exp", "iat"]})
        except (jwt.PyJWTError, jwt.PyJWKClientError) as error:
            raise FederationRefused(request, "invalid_request", f"Bad id_token: {type(error).__name__}") from None
        if not isinstance(claims.get("nonce"), str) or not secrets.compare_digest(claims["nonce"], nonce):
            raise FederationRefused(request, "invalid_request", "Bad id_token nonce")
        return claims

    def attributes(self, claims: dict) -> dict[str, str]:
        """Pool attributes from the claims by the mapping; a claim the token lacks changes nothing."""
        return {attribute: attribute_value(claims[claim], self.federation.type)
                for attribute, claim in self.federation.attribute_mapping.items() if claim in claims}


class Provider:
    """The provider's state: the one app client, pending sign-ins, codes, sessions, revocations."""

    def __init__(self, *, cognito, region: str, pool_id: str, client_id: str, redirect_uris: list[str],
                 federation: Federation | None = None):
        self.cognito = cognito  # a boto3 cognito-idp client on moto
        self.federation = federation
        self.federated = FederatedSignIn(federation, pool_id, client_id) if federation else None
        self.issuer = f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"
        self.pool_id = pool_id
        self.client_id = client_id
        self.redirect_uris = set(redirect_uris)
        self.lock = threading.Lock()
        self.pending: dict[str, dict] = {}  # sign-in form id -> the authorize request and its CSRF token
        self.codes: dict[str, dict] = {}  # code -> what it may be exchanged for, once
        self.sessions: dict[str, str] = {}  # session cookie -> the session's own refresh token
        self.revoked: set[str] = set()  # refresh tokens revoked at /oauth2/revoke (moto has no RevokeToken)
        self.expires_in: int | None = None  # report a shorter token lifetime (tests of renewal)
        self.grants: list[dict] = []  # token endpoint uses, without tokens, for the tests

    def metadata(self, base: str) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{base}/oauth2/authorize",
            "token_endpoint": f"{base}/oauth2/token",
            "revocation_endpoint": f"{base}/oauth2/revoke",
            "jwks_uri": f"{self.cognito.meta.endpoint_url}/{self.pool_id}/.well-known/jwks.json",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "email", "profile"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["none"],
        }

    def password_sign_in(self, username: str, password: str) -> dict | None:
        try:
            return self.cognito.initiate_auth(
                ClientId=self.client_id, AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": password},
            )["AuthenticationResult"]
        except (self.cognito.exceptions.NotAuthorizedException, self.cognito.exceptions.UserNotFoundException):
            return None

    def refresh(self, refresh_token: str, session: bool = False) -> dict | None:
        """New tokens for a refresh token; `session`: the managed-login session's own, which
        revocation does not end (only /logout does). moto cannot mint a second refresh token without
        the password, so a sign-in through the session hands the app the session's one: revoking
        that one then fails the app's later refreshes, as it should, but not the session."""
        with self.lock:
            if refresh_token in self.revoked and not session:
                return None
        try:
            result = self.cognito.initiate_auth(
                ClientId=self.client_id, AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": refresh_token},
            )["AuthenticationResult"]
        except Exception:  # moto answers an unknown refresh token with several errors
            return None
        result.setdefault("RefreshToken", refresh_token)
        return result

    def revoke(self, refresh_token: str):
        with self.lock:
            self.revoked.add(refresh_token)

    def issue_code(self, request: dict, tokens: dict) -> str:
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = {
                "client_id": request["client_id"], "redirect_uri": request["redirect_uri"],
                "challenge": request["code_challenge"], "tokens": tokens,
                "expires": time.monotonic() + CODE_LIFETIME_SECONDS,
            }
        return code

    def redeem_code(self, code: str, client_id: str, redirect_uri: str, verifier: str) -> dict | None:
        with self.lock:
            grant = self.codes.pop(code, None)  # good once, whatever happens next
        if grant is None or grant["expires"] < time.monotonic():
            return None
        if grant["client_id"] != client_id or grant["redirect_uri"] != redirect_uri:
            return None
        if not verifier or not secrets.compare_digest(pkce_challenge(verifier), grant["challenge"]):
            return None
        return grant["tokens"]

    def token_response(self, tokens: dict, with_id_token: bool = True) -> dict:
        answer = {
            "access_token": tokens["AccessToken"],
            "token_type": "Bearer",
            "expires_in": self.expires_in or tokens.get("ExpiresIn", 3600),
        }
        # moto stamps a refreshed ID token with a new auth_time, which a client rightly rejects as
        # another sign-in (Cognito keeps the first one's): so a refresh answers without one.
        if with_id_token:
            answer["id_token"] = tokens["IdToken"]
            answer["refresh_token"] = tokens["RefreshToken"]
        return answer


ERROR_PAGE = '<h1 id="error">An error was encountered with the requested page.</h1>'


class ManagedLogin:
    """The provider's HTTP face, a WSGI app."""

    def __init__(self, provider: Provider, allowed_origins: set[str]):
        self.provider = provider
        self.allowed_origins = allowed_origins
        # The sign-in form's answer redirects to the portal, which form-action covers too.
        portals = sorted({f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in provider.redirect_uris})
        self.page_policy = f"default-src 'none'; form-action 'self' {' '.join(portals)}; frame-ancestors 'none'"
        self.routes = Map([
            Rule(f"/{provider.pool_id}/.well-known/openid-configuration", endpoint="discovery", methods=["GET"]),
            Rule("/oauth2/authorize", endpoint="authorize", methods=["GET"]),
            Rule("/oauth2/authorize", endpoint="sign_in", methods=["POST"]),
            Rule("/oauth2/token", endpoint="token", methods=["POST", "OPTIONS"]),
            Rule("/oauth2/revoke", endpoint="revoke", methods=["POST", "OPTIONS"]),
            Rule("/oauth2/idpresponse", endpoint="idp_response", methods=["GET"]),
            Rule("/logout", endpoint="logout", methods=["GET"]),
            Rule("/_grants", endpoint="grants", methods=["GET"]),
            Rule("/_expires_in", endpoint="expires_in", methods=["POST"]),
        ])

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            endpoint, _ = self.routes.bind_to_environ(environ).match()
            response = getattr(self, endpoint)(request)
        except (NotFound, MethodNotAllowed) as error:
            response = self._json(request, error.code, {"error": "not_found" if error.code == 404 else "method_not_allowed"})
        except HTTPException as error:  # a body werkzeug cannot parse, say
            response = error.get_response()
        # Query strings and forms here hold codes and passwords: log the path only.
        print(f"managed-login {request.method} {request.path} -> {response.status_code}", flush=True)
        return response(environ, start_response)

    # --- answers ------------------------------------------------------------------------------

    def _cors(self, request: Request, response: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin in self.allowed_origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        return response

    def _json(self, request: Request, status: int, value, cors: bool = False) -> Response:
        response = Response(json.dumps(value), status, content_type="application/json",
                            headers={"Cache-Control": "no-store"})
        return self._cors(request, response) if cors else response

    def _page(self, status: int, title: str, body: str) -> Response:
        return page(status, title, body, self.page_policy)

    def _sign_in_form(self, status: int, pending_id: str, csrf: str, query: dict, username: str = "",
                      error: str = "") -> Response:
        alert = f'<p id="error" role="alert">{html.escape(error)}</p>' if error else ""
        federation = self.provider.federation
        # The provider's button is a plain link: the same authorize request, naming the provider.
        other = "" if federation is None else (
            f'<p><a id="federated" href="/oauth2/authorize?'
            f'{html.escape(urlencode({**query, "identity_provider": federation.name}))}">'
            f"Sign in with {html.escape(federation.name)}</a></p>")
        response = self._page(status, "Sign in", (
            "<h1>Sign in</h1>"
            "<p>Local managed login (a stand-in for Amazon Cognito).</p>"
            f"{alert}"
            '<form method="post" action="/oauth2/authorize">'
            f'<input type="hidden" name="request" value="{html.escape(pending_id)}">'
            f'<input type="hidden" name="{CSRF_FIELD}" value="{html.escape(csrf)}">'
            '<p><label for="username">Username</label><br>'
            f'<input id="username" name="username" autocomplete="username" required value="{html.escape(username)}"></p>'
            '<p><label for="password">Password</label><br>'
            '<input id="password" name="password" type="password" autocomplete="current-password" required></p>'
            '<p><button type="submit">Sign in</button></p></form>'
            f"{other}"
        ))
        response.set_cookie(CSRF_COOKIE, csrf, path="/", httponly=True, samesite="Lax")
        return response

    def _finish(self, request: dict, tokens: dict) -> Response:
        answer = {"code": self.provider.issue_code(request, tokens)}
        if "state" in request:
            answer["state"] = request["state"]
        return redirect(f"{request['redirect_uri']}?{urlencode(answer)}")

    def _back_to_app(self, query: dict, error: str, description: str | None = None) -> Response:
        """`error` to the app's (checked) redirect URI, with its state, as Cognito sends one."""
        back = {**({"error_description": description} if description else {}), "error": error,
                **({"state": query["state"]} if "state" in query else {})}
        return redirect(f"{query['redirect_uri']}?{urlencode(back)}")

    # --- endpoints ----------------------------------------------------------------------------

    def discovery(self, request: Request) -> Response:
        # Cognito's discovery document is public and answers any origin.
        base = f"http://{request.host}"
        return Response(json.dumps(self.provider.metadata(base)), content_type="application/json",
                        headers={"Access-Control-Allow-Origin": "*"})

    def authorize(self, request: Request) -> Response:
        provider = self.provider
        query = request.args.to_dict()  # the first of a repeated parameter, as before
        # A wrong client or redirect URI gets an error page: redirecting there would be unsafe.
        if query.get("client_id") != provider.client_id or query.get("redirect_uri") not in provider.redirect_uris:
            return self._page(400, "Error", ERROR_PAGE + "<p>Unknown client or redirect URI.</p>")
        problem = None
        if query.get("response_type") != "code":
            problem = "unsupported_response_type"
        elif query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            problem = "invalid_request"
        if problem:
            return self._back_to_app(query, problem)
        federation = provider.federation
        password_allowed = federation is None or not federation.provider_only
        chosen = query.get("identity_provider")
        if federation is not None and (chosen == federation.name or chosen is None and not password_allowed):
            return self._to_identity_provider(request, query)
        if chosen is not None and not (chosen == "COGNITO" and password_allowed):
            return self._back_to_app(query, "invalid_request", "Identity provider is not enabled for the client")
        session = request.cookies.get(SESSION_COOKIE)
        with provider.lock:
            refresh_token = provider.sessions.get(session) if session else None
        tokens = provider.refresh(refresh_token, session=True) if refresh_token else None
        if tokens:  # still signed in to managed login: no password asked, as Cognito does
            return self._finish(query, tokens)
        pending_id, csrf = secrets.token_urlsafe(16), secrets.token_urlsafe(24)
        with provider.lock:
            provider.pending[pending_id] = {"request": query, "csrf": csrf}
        return self._sign_in_form(200, pending_id, csrf, query)

    def _to_identity_provider(self, request: Request, query: dict) -> Response:
        # Every federated sign-in goes to the provider, never through our session: its own
        # session makes that quick, and the user's attributes (groups) are read afresh each time.
        try:
            return redirect(self.provider.federated.start(query, f"http://{request.host}/oauth2/idpresponse"))
        except OSError as error:
            print(f"managed-login identity provider unavailable: {error}", flush=True)
            return self._page(502, "Error", ERROR_PAGE + "<p>The identity provider could not be reached.</p>")

    def idp_response(self, request: Request) -> Response:
        """Where the identity provider sends the browser back: the sign-in finishes as a password
        one does, with a one-time code to the app bound to its PKCE challenge."""
        if self.provider.federated is None:
            return self._page(404, "Error", ERROR_PAGE)
        try:
            query, tokens = self.provider.federated.finish(request.args.to_dict())
        except FederationRefused as refusal:
            print(f"managed-login federated sign-in refused: {refusal.description}", flush=True)
            if refusal.request is None:
                return self._page(400, "Error", ERROR_PAGE + "<p>This sign-in has expired or was already used.</p>")
            return self._back_to_app(refusal.request, refusal.error, refusal.description)
        except OSError as error:
            print(f"managed-login federated sign-in failed: {error}", flush=True)
            return self._page(502, "Error", ERROR_PAGE + "<p>The sign-in could not be finished.</p>")
        return self._finish(query, tokens)

    def sign_in(self, request: Request) -> Response:
        provider = self.provider
        form = request.form
        if provider.federation is not None and provider.federation.provider_only:
            return self._page(403, "Error", ERROR_PAGE + "<p>Sign-in with a password is not enabled.</p>")
        pending_id = form.get("request", "")
        with provider.lock:
            pending = provider.pending.get(pending_id)
        if pending is None:
            return self._page(400, "Error", '<h1 id="error">This sign-in page has expired.</h1>'
                                            "<p>Go back to the portal and sign in again.</p>")
        # The form's token must be the one this sign-in page was given, and the browser must hold
        # it in the cookie set with that page: a page elsewhere can copy neither into the victim's
        # browser, so it cannot sign the victim in as somebody else (login CSRF).
        sent, cookie = form.get(CSRF_FIELD, ""), request.cookies.get(CSRF_COOKIE, "")
        if not (secrets.compare_digest(sent, pending["csrf"]) and secrets.compare_digest(cookie, pending["csrf"])):
            return self._page(403, "Error", ERROR_PAGE + "<p>The sign-in form could not be verified.</p>")
        tokens = provider.password_sign_in(form.get("username", ""), form.get("password", ""))
        if tokens is None:
            return self._sign_in_form(400, pending_id, pending["csrf"], pending["request"], form.get("username", ""),
                                      "Incorrect username or password.")
        # The managed-login session holds a grant of its own, as Cognito's session cookie does: the
        # app revoking its refresh token does not end it (only /logout does).
        own = provider.password_sign_in(form.get("username", ""), form.get("password", ""))
        session = secrets.token_urlsafe(24)
        with provider.lock:
            provider.pending.pop(pending_id, None)
            provider.sessions[session] = own["RefreshToken"]
        response = self._finish(pending["request"], tokens)
        response.set_cookie(SESSION_COOKIE, session, path="/", httponly=True, samesite="Lax")
        response.delete_cookie(CSRF_COOKIE, path="/", httponly=True, samesite="Lax")
        return response

    def token(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return self._preflight(request)
        provider = self.provider
        form = request.form
        grant_type = form.get("grant_type")
        if form.get("client_id") != provider.client_id:
            return self._json(request, 400, {"error": "invalid_client"}, cors=True)
        if grant_type == "authorization_code":
            tokens = provider.redeem_code(form.get("code", ""), form.get("client_id", ""),
                                          form.get("redirect_uri", ""), form.get("code_verifier", ""))
            answer = provider.token_response(tokens) if tokens else None
        elif grant_type == "refresh_token":
            tokens = provider.refresh(form.get("refresh_token", ""))
            answer = provider.token_response(tokens, with_id_token=False) if tokens else None
        else:
            return self._json(request, 400, {"error": "unsupported_grant_type"}, cors=True)
        with provider.lock:
            provider.grants.append({"grant_type": grant_type, "ok": answer is not None})
        if answer is None:
            return self._json(request, 400, {"error": "invalid_grant"}, cors=True)
        return self._json(request, 200, answer, cors=True)

    def revoke(self, request: Request) -> Response:
        """Cognito's revocation endpoint for a public client: `token` (a refresh token) and
        `client_id` in a form; 200 with an empty body, after which the refresh token gets
        `invalid_grant` (https://docs.aws.amazon.com/cognito/latest/developerguide/revocation-endpoint.html).
        As RFC 7009 says, a token it does not know is answered 200 too."""
        if request.method == "OPTIONS":
            return self._preflight(request)
        form = request.form
        token = form.get("token", "")
        if not token:
            return self._json(request, 400, {"error": "invalid_request"}, cors=True)
        if form.get("client_id") != self.provider.client_id:
            return self._json(request, 400, {"error": "invalid_client"}, cors=True)
        if token.count(".") == 2:  # a JWT: an access or ID token, which the endpoint does not take
            return self._json(request, 400, {"error": "unsupported_token_type"}, cors=True)
        self.provider.revoke(token)
        return self._cors(request, Response("", 200, headers={"Cache-Control": "no-store"}))

    def logout(self, request: Request) -> Response:
        provider = self.provider
        query = request.args
        if query.get("client_id") != provider.client_id or query.get("logout_uri") not in provider.redirect_uris:
            return self._page(400, "Error", ERROR_PAGE)
        with provider.lock:
            provider.sessions.pop(request.cookies.get(SESSION_COOKIE), None)
        response = redirect(query["logout_uri"])
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Lax")
        return response

    def _preflight(self, request: Request) -> Response:
        response = Response("", 204)
        if request.headers.get("Origin") in self.allowed_origins:
            self._cors(request, response)
            response.headers["Access-Control-Allow-Methods"] = "GET, POST"
            response.headers["Access-Control-Allow-Headers"] = "content-type, authorization"
        return response

    # --- controls for the tests (no authentication: loopback only) ------------------------------

    def grants(self, request: Request) -> Response:
        with self.provider.lock:
            return self._json(request, 200, list(self.provider.grants))

    def expires_in(self, request: Request) -> Response:
        seconds = request.form.get("seconds", "")
        with self.provider.lock:
            self.provider.expires_in = int(seconds) if seconds else None
        return self._json(request, 200, {"expires_in": self.provider.expires_in})


class ManagedLoginServer(Server):
    """The provider on its port (0: a free one)."""

    def __init__(self, provider: Provider, port: int, allowed_origins: list[str]):
        super().__init__(ManagedLogin(provider, set(allowed_origins)), port)
        self.provider = provider
