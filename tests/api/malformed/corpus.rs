//! The corpus: every route family × the mutations that apply to it. Ids of the world are
//! placeholders (see [`super::World`]), so the table is built without a server.

use base64::Engine;
use reqwest::Method;

use super::{Auth, Case, Send, Tenant};

/// The route families, by the test that runs them.
pub const FAMILIES: &[(&str, &[&str])] = &[
    (
        "zoom",
        &[
            "zoom oauth",
            "zoom users list",
            "zoom users create",
            "zoom user get",
            "zoom user update",
            "zoom user delete",
            "zoom email",
            "zoom summary",
            "zoom zak",
            "zoom token",
            "zoom status",
            "zoom assistants",
            "zoom schedulers",
        ],
    ),
    (
        "cloudflare",
        &[
            "cf revoke_user",
            "cf organizations",
            "cf users",
            "cf user sub-resources",
            "cf apps",
            "cf devices legacy",
            "cf devices physical",
            "cf registrations",
            "cf token verify",
        ],
    ),
    ("control", &["control tenants", "control sessions", "control introspect", "control clock", "control journal"]),
    ("http", &["http request line", "http headers", "http path", "http body framing", "http body limit"]),
];

pub fn families(group: &str) -> &'static [&'static str] {
    FAMILIES.iter().find(|(name, _)| *name == group).map(|(_, f)| *f).expect("a family group")
}

/// Numbers (and things that are not) for a query parameter, URL-encoded.
pub const QUERY_NUMBERS: &[&str] = &[
    "-1",
    "0",
    "-9223372036854775808",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "4611686018427387905",
    "99999999999999999999999999999999",
    "1e3",
    "2.5",
    "-0",
    "NaN",
    "abc",
    "",
    "0x10",
    "%2B5",
    "%207",
    "%EF%BC%91",
    "1%00",
];

/// Numbers (and things that are not) for a JSON field; none is a valid value of the
/// fields they are used for.
pub const JSON_NUMBERS: &[&str] = &[
    "-1",
    "0",
    "-9223372036854775809",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "1e300",
    "2.5",
    "-0.0",
    "\"abc\"",
    "true",
    "[]",
    "{}",
];

/// Path ids that are not ids, already encoded for a path segment.
pub fn bad_ids() -> Vec<String> {
    vec![
        "%00".into(),
        "a%00b".into(),
        "%C3%A9l%C3%A8ve%40example.com".into(),
        "%F0%9F%92%A9".into(),
        "..%2F..%2F_userplane%2Ftenants".into(),
        "%FF%FE".into(),
        "%".into(),
        "x".repeat(3000),
        "%0D%0AX-Injected:%201".into(),
        "'%20OR%20'1'='1".into(),
        "%E2%80%AE".into(),
    ]
}

/// Email query values that are no email of the world, encoded.
const BAD_EMAILS: &[&str] = &["", "no-at", "%40", "a%40", "%00%40example.com", "a%40b%40c", "%F0%9F%92%A9%40x.y"];

/// Bodies no JSON endpoint takes: (what, content type, bytes).
pub fn bad_bodies() -> Vec<(&'static str, Option<&'static str>, Vec<u8>)> {
    let json = Some("application/json");
    vec![
        ("not JSON", json, b"{not json".to_vec()),
        ("truncated JSON", json, b"{\"a\":".to_vec()),
        ("a JSON array", json, b"[1,2]".to_vec()),
        ("a JSON string", json, b"\"x\"".to_vec()),
        ("a JSON number", json, b"42".to_vec()),
        ("JSON null", json, b"null".to_vec()),
        ("a raw NUL in a string", json, b"{\"a\":\"\0\"}".to_vec()),
        ("invalid UTF-8", json, b"{\"a\":\"\xff\xfe\"}".to_vec()),
        ("nesting 10000 deep", json, format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes()),
        ("a byte-order mark", json, "\u{feff}{\"a\":1}".as_bytes().to_vec()),
        ("text/plain", Some("text/plain"), b"hello".to_vec()),
        ("XML", Some("application/xml"), b"<a/>".to_vec()),
        ("multipart without a boundary", Some("multipart/form-data"), b"--x\r\n".to_vec()),
        (
            "unterminated multipart",
            Some("multipart/form-data; boundary=x"),
            b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv".to_vec(),
        ),
        ("a content type that is not one", Some("%%%"), b"{}".to_vec()),
    ]
}

fn get(family: &'static str, what: impl Into<String>, path: impl Into<String>, auth: Auth) -> Case {
    request(family, what, Method::GET, path, auth)
}

fn request(family: &'static str, what: impl Into<String>, method: Method, path: impl Into<String>, auth: Auth) -> Case {
    Case {
        family,
        what: what.into(),
        send: Send::Http { method, path: path.into(), auth, content_type: None, body: None },
        writes: None,
        absent: None,
    }
}

impl Case {
    fn body(mut self, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> Case {
        if let Send::Http { content_type: ct, body: b, .. } = &mut self.send {
            *ct = content_type.map(str::to_owned);
            *b = Some(body.into());
        }
        self
    }

    fn json(self, body: impl Into<String>) -> Case {
        self.body(Some("application/json"), body.into())
    }

    fn writes(mut self, tenant: Tenant) -> Case {
        self.writes = Some(tenant);
        self
    }
}

/// Every case.
pub fn all() -> Vec<Case> {
    let mut cases = Vec::new();
    zoom(&mut cases);
    cloudflare(&mut cases);
    control(&mut cases);
    http(&mut cases);
    cases
}

/// A write route × every bad body.
fn bad_bodies_to(
    cases: &mut Vec<Case>,
    family: &'static str,
    method: Method,
    path: &str,
    auth: Auth,
    tenant: Option<Tenant>,
) {
    for (what, content_type, body) in bad_bodies() {
        let mut case = request(family, what, method.clone(), path, auth.clone()).body(content_type, body);
        case.writes = tenant;
        cases.push(case);
    }
}

fn zoom(cases: &mut Vec<Case>) {
    let z = Auth::Zoom;
    let w = Tenant::Zoom;

    // OAuth: every refusal must issue no token (issuing one is journaled).
    let basic = |credentials: &[u8]| {
        Auth::Header(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials)))
    };
    let good = basic(b"{za}-admin:admin-secret");
    let grant = "/oauth/token?grant_type=account_credentials&account_id={za}";
    for (what, path) in [
        ("no grant_type", "/oauth/token?account_id={za}".to_owned()),
        ("another grant_type", "/oauth/token?grant_type=client_credentials&account_id={za}".to_owned()),
        ("a NUL grant_type", "/oauth/token?grant_type=account_credentials%00&account_id={za}".to_owned()),
        ("no account_id", "/oauth/token?grant_type=account_credentials".to_owned()),
        ("a NUL account_id", "/oauth/token?grant_type=account_credentials&account_id={za}%00".to_owned()),
        ("a huge account_id", format!("/oauth/token?grant_type=account_credentials&account_id={}", "a".repeat(9000))),
        ("a malformed query", "/oauth/token?grant_type=%ZZ&account_id={za}".to_owned()),
    ] {
        cases.push(request("zoom oauth", what, Method::POST, path, good.clone()).writes(w));
    }
    for (what, auth) in [
        ("Basic not base64", Auth::Header("Basic !!!".into())),
        ("Basic without a colon", basic(b"{za}-admin")),
        ("Basic empty pair", basic(b":")),
        ("a wrong secret", basic(b"{za}-admin:wrong")),
        ("Basic invalid UTF-8", basic(b"\xff\xfe:\xff")),
        ("a bearer token", Auth::Header("Bearer admin-secret".into())),
        ("no credentials", Auth::None),
    ] {
        cases.push(request("zoom oauth", what, Method::POST, grant, auth).writes(w));
    }
    cases.push(
        request("zoom oauth", "grant in a JSON body", Method::POST, "/oauth/token", good.clone())
            .json(r#"{"grant_type":"account_credentials","account_id":"{za}"}"#)
            .writes(w),
    );
    cases.push(
        request("zoom oauth", "a garbage form", Method::POST, "/oauth/token", good.clone())
            .body(Some("application/x-www-form-urlencoded"), "%%%&&==&grant_type")
            .writes(w),
    );
    cases.push(
        request("zoom oauth", "a body over the limit", Method::POST, grant, good.clone())
            .body(Some("application/x-www-form-urlencoded"), format!("x={}", "a".repeat(70_000)))
            .writes(w),
    );
    cases.push(request("zoom oauth", "GET", Method::GET, grant, good));

    // Listing users: every numeric parameter, with and without the role filter.
    for n in QUERY_NUMBERS {
        for (param, extra) in [
            ("page_size", ""),
            ("page_number", ""),
            ("page_number", "&page_size=2&role_id=2"),
            ("page_size", "&role_id=2"),
        ] {
            cases.push(get(
                "zoom users list",
                format!("{param}={n}{extra}"),
                format!("/v2/users?{param}={n}{extra}"),
                z.clone(),
            ));
        }
    }
    for (what, query) in [
        ("status", "status=everyone"),
        ("status NUL", "status=active%00"),
        ("role_id", "role_id=3"),
        ("role_id negative", "role_id=-1"),
        ("role_id huge", "role_id=9223372036854775808"),
        ("malformed query", "page_size=%ZZ"),
        ("next_page_token garbage", "next_page_token=!!!"),
        ("next_page_token not JSON", "next_page_token=bm90IGpzb24"),
        ("next_page_token huge", &format!("next_page_token={}", "A".repeat(20_000))),
        ("forged token page -5", "next_page_token={pt:-5}"),
        ("forged token page -5 with role", "next_page_token={ptr:-5}"),
        ("forged token page 2^62+1 with role", "next_page_token={ptr:4611686018427387905}"),
        ("forged token page i64::MAX", "next_page_token={pt:9223372036854775807}"),
        ("forged token page 0 with role", "next_page_token={ptr:0}"),
        ("forged token another account", "next_page_token={pto:2}"),
    ] {
        cases.push(get("zoom users list", what, format!("/v2/users?{query}"), z.clone()));
    }

    // Creating users.
    bad_bodies_to(cases, "zoom users create", Method::POST, "/v2/users", z.clone(), Some(w));
    let create = |what: String, body: String| {
        request("zoom users create", what, Method::POST, "/v2/users", Auth::Zoom).json(body).writes(Tenant::Zoom)
    };
    for action in ["\"\"", "\"delete\"", "1", "null", "\"create\\u0000\""] {
        cases.push(create(
            format!("action {action}"),
            format!(r#"{{"action":{action},"user_info":{{"email":"new@example.com","type":1}}}}"#),
        ));
    }
    for info in ["\"x\"", "[]", "null", "{}"] {
        cases.push(create(format!("user_info {info}"), format!(r#"{{"action":"create","user_info":{info}}}"#)));
    }
    for n in JSON_NUMBERS {
        cases.push(create(
            format!("type {n}"),
            format!(r#"{{"action":"create","user_info":{{"email":"new@example.com","type":{n}}}}}"#),
        ));
    }
    for email in [
        "\"\"",
        "\"no-at\"",
        "\"a@b@c\"",
        "\"x\\u0000@example.com\"",
        "1",
        "[]",
        &format!("\"{}@example.com\"", "x".repeat(400)),
    ] {
        cases.push(create(
            format!("email {}", &email[..email.len().min(20)]),
            format!(r#"{{"action":"create","user_info":{{"email":{email},"type":1}}}}"#),
        ));
    }
    for name in ["1", "{}", &format!("\"{}\"", "n".repeat(65))] {
        cases.push(create(
            format!("first_name {}", &name[..name.len().min(10)]),
            format!(r#"{{"action":"create","user_info":{{"email":"new@example.com","type":1,"first_name":{name}}}}}"#),
        ));
    }

    // One user.
    for id in bad_ids() {
        let short = id.chars().take(30).collect::<String>();
        cases.push(get("zoom user get", format!("id {short}"), format!("/v2/users/{id}"), z.clone()));
        cases.push(
            request("zoom user update", format!("id {short}"), Method::PATCH, format!("/v2/users/{id}"), z.clone())
                .json(r#"{"first_name":"X"}"#)
                .writes(w),
        );
        cases.push(
            request("zoom user delete", format!("id {short}"), Method::DELETE, format!("/v2/users/{id}"), z.clone())
                .writes(w),
        );
        cases.push(get("zoom token", format!("id {short}"), format!("/v2/users/{id}/token"), z.clone()));
        cases.push(
            request(
                "zoom token",
                format!("revoke, id {short}"),
                Method::DELETE,
                format!("/v2/users/{id}/token"),
                z.clone(),
            )
            .writes(w),
        );
        cases.push(
            request("zoom status", format!("id {short}"), Method::PUT, format!("/v2/users/{id}/status"), z.clone())
                .json(r#"{"action":"deactivate"}"#)
                .writes(w),
        );
        cases.push(get("zoom assistants", format!("id {short}"), format!("/v2/users/{id}/assistants"), z.clone()));
        cases.push(
            request(
                "zoom assistants",
                format!("delete one, id {short}"),
                Method::DELETE,
                format!("/v2/users/{{zu}}/assistants/{id}"),
                z.clone(),
            )
            .writes(w),
        );
        cases.push(get("zoom schedulers", format!("id {short}"), format!("/v2/users/{id}/schedulers"), z.clone()));
        cases.push(
            request(
                "zoom schedulers",
                format!("delete one, id {short}"),
                Method::DELETE,
                format!("/v2/users/{{zu}}/schedulers/{id}"),
                z.clone(),
            )
            .writes(w),
        );
    }
    bad_bodies_to(cases, "zoom user update", Method::PATCH, "/v2/users/{zu}", z.clone(), Some(w));
    for field in ["pmi", "type", "pronouns_option", "use_pmi"] {
        for n in JSON_NUMBERS {
            if field == "use_pmi" && *n == "true" {
                continue;
            }
            cases.push(
                request("zoom user update", format!("{field} {n}"), Method::PATCH, "/v2/users/{zu}", z.clone())
                    .json(format!(r#"{{"{field}":{n}}}"#))
                    .writes(w),
            );
        }
    }
    for (what, body) in [
        ("first_name a number", r#"{"first_name":1}"#.to_owned()),
        ("first_name too long", format!(r#"{{"first_name":"{}"}}"#, "n".repeat(65))),
        ("host_key letters", r#"{"host_key":"abcdef"}"#.to_owned()),
        ("phone_numbers 4", r#"{"phone_numbers":[1,2,3,4]}"#.to_owned()),
    ] {
        cases.push(request("zoom user update", what, Method::PATCH, "/v2/users/{zu}", z.clone()).json(body).writes(w));
    }
    for query in
        ["action=erase", "action=", "action=delete%00", "transfer_email=nobody%40example.com", "transfer_email=%00"]
    {
        cases.push(
            request("zoom user delete", query, Method::DELETE, format!("/v2/users/{{zu}}?{query}"), z.clone())
                .writes(w),
        );
    }

    // Email, summary, ZAK, tokens.
    for email in BAD_EMAILS {
        cases.push(get("zoom email", format!("email {email}"), format!("/v2/users/email?email={email}"), z.clone()));
    }
    cases.push(get("zoom email", "no email", "/v2/users/email", z.clone()));
    cases.push(get(
        "zoom email",
        "a huge email",
        format!("/v2/users/email?email={}%40x.com", "a".repeat(10_000)),
        z.clone(),
    ));
    for query in ["page_size=-1", "x=%ZZ", "status=%00"] {
        cases.push(get("zoom summary", query, format!("/v2/users/summary?{query}"), z.clone()));
    }
    for (what, auth) in [
        ("an app token (no user)", Auth::Zoom),
        ("no token", Auth::None),
        ("a huge token", Auth::Header(format!("Bearer {}", "t".repeat(8000)))),
    ] {
        cases.push(get("zoom zak", what, "/v2/users/me/zak", auth));
    }
    cases.push(get("zoom zak", "a malformed query", "/v2/users/me/zak?a=%ZZ", z.clone()));
    for n in QUERY_NUMBERS {
        cases.push(get(
            "zoom token",
            format!("ttl={n}"),
            format!("/v2/users/{{zu}}/token?type=zak&ttl={n}"),
            z.clone(),
        ));
    }
    for query in ["type=bogus", "type=onbehalf", "type=onbehalf&meeting_id=", "type=%00"] {
        cases.push(get("zoom token", query, format!("/v2/users/{{zu}}/token?{query}"), z.clone()));
    }

    // Status, delegates.
    bad_bodies_to(cases, "zoom status", Method::PUT, "/v2/users/{zu}/status", z.clone(), Some(w));
    for action in ["\"\"", "\"ACTIVATE\"", "1", "null", "\"deactivate\\u0000\"", "[\"deactivate\"]"] {
        cases.push(
            request("zoom status", format!("action {action}"), Method::PUT, "/v2/users/{zu}/status", z.clone())
                .json(format!(r#"{{"action":{action}}}"#))
                .writes(w),
        );
    }
    bad_bodies_to(cases, "zoom assistants", Method::POST, "/v2/users/{zu}/assistants", z.clone(), Some(w));
    let many: Vec<String> = (0..31).map(|i| format!(r#"{{"email":"a{i}@example.com"}}"#)).collect();
    for (what, assistants) in [
        ("not an array", "\"x\"".to_owned()),
        ("empty", "[]".to_owned()),
        ("numbers", "[1]".to_owned()),
        ("a NUL id", r#"[{"id":"\u0000"}]"#.to_owned()),
        ("an id that is a number", r#"[{"id":123}]"#.to_owned()),
        ("an unknown email", r#"[{"email":"nobody@example.com"}]"#.to_owned()),
        ("31 of them", format!("[{}]", many.join(","))),
        ("10000 of them", format!("[{}]", vec!["{}"; 10_000].join(","))),
    ] {
        cases.push(
            request("zoom assistants", what, Method::POST, "/v2/users/{zu}/assistants", z.clone())
                .json(format!(r#"{{"assistants":{assistants}}}"#))
                .writes(w),
        );
    }
}

fn cloudflare(cases: &mut Vec<Case>) {
    let c = Auth::Cloudflare;
    let w = Tenant::Cloudflare;
    let account = "/client/v4/accounts/{ca}";

    // revoke_user, both scopes.
    for scope in [account, "/client/v4/zones/{cz}"] {
        let path = format!("{scope}/access/organizations/revoke_user");
        bad_bodies_to(cases, "cf revoke_user", Method::POST, &path, c.clone(), Some(w));
        for (what, body) in [
            ("no email", r#"{}"#.to_owned()),
            ("email a number", r#"{"email":1}"#.to_owned()),
            ("email empty", r#"{"email":""}"#.to_owned()),
            ("email without @", r#"{"email":"jdoe"}"#.to_owned()),
            ("email with NUL", r#"{"email":"jdoe@example.com\u0000"}"#.to_owned()),
            ("email huge", format!(r#"{{"email":"{}@example.com"}}"#, "j".repeat(5000))),
            ("user_uid not a UUID", r#"{"email":"jdoe@example.com","user_uid":"nope"}"#.to_owned()),
            ("user_uid a number", r#"{"email":"jdoe@example.com","user_uid":7}"#.to_owned()),
            ("devices a string", r#"{"email":"jdoe@example.com","devices":"yes"}"#.to_owned()),
            ("warp_session_reauth a number", r#"{"email":"jdoe@example.com","warp_session_reauth":1}"#.to_owned()),
        ] {
            cases.push(request("cf revoke_user", what, Method::POST, path.as_str(), c.clone()).json(body).writes(w));
        }
        cases.push(
            request(
                "cf revoke_user",
                "devices=maybe in the query",
                Method::POST,
                format!("{path}?devices=maybe"),
                c.clone(),
            )
            .json(r#"{"email":"jdoe@example.com"}"#)
            .writes(w),
        );
    }

    // The organization.
    let org = format!("{account}/access/organizations");
    bad_bodies_to(cases, "cf organizations", Method::PUT, &org, c.clone(), Some(w));
    for (field, value) in [
        ("name", "1"),
        ("name", "\"\""),
        ("auth_domain", "\"no dots\""),
        ("auth_domain", "\"a\\u0000.com\""),
        ("auth_domain", "7"),
        ("session_duration", "24"),
        ("is_ui_read_only", "\"yes\""),
        ("login_design", "[]"),
        ("deny_unmatched_requests_exempted_zone_names", "{}"),
    ] {
        cases.push(
            request("cf organizations", format!("{field} {value}"), Method::PUT, org.as_str(), c.clone())
                .json(format!(r#"{{"{field}":{value}}}"#))
                .writes(w),
        );
    }
    cases.push(
        request("cf organizations", "create again", Method::POST, org.as_str(), c.clone())
            .json(r#"{"name":"Again","auth_domain":"again.cloudflareaccess.com"}"#)
            .writes(w),
    );
    for bad in ["0123", "zz3456789012345678901234567890ab", "%00", "..%2F..", &"a".repeat(3000)] {
        let short = &bad[..bad.len().min(20)];
        cases.push(get(
            "cf organizations",
            format!("account {short}"),
            format!("/client/v4/accounts/{bad}/access/organizations"),
            c.clone(),
        ));
        cases.push(
            request(
                "cf organizations",
                format!("update, account {short}"),
                Method::PUT,
                format!("/client/v4/accounts/{bad}/access/organizations"),
                c.clone(),
            )
            .json(r#"{"name":"X"}"#)
            .writes(w),
        );
    }

    // Users and their sub-resources.
    for n in QUERY_NUMBERS {
        cases.push(get("cf users", format!("page={n}"), format!("{account}/access/users?page={n}"), c.clone()));
        cases.push(get("cf users", format!("per_page={n}"), format!("{account}/access/users?per_page={n}"), c.clone()));
        cases.push(get("cf apps", format!("page={n}"), format!("{account}/access/apps?page={n}"), c.clone()));
        cases.push(get("cf apps", format!("per_page={n}"), format!("{account}/access/apps?per_page={n}"), c.clone()));
    }
    for query in ["email=%00", "search=%FF", "a=%ZZ"] {
        cases.push(get("cf users", query, format!("{account}/access/users?{query}"), c.clone()));
    }
    for query in ["exact=maybe", "exact=1", "name=%00"] {
        cases.push(get("cf apps", query, format!("{account}/access/apps?{query}"), c.clone()));
    }
    cases.push(get("cf apps", "zone, page=-1", "/client/v4/zones/{cz}/access/apps?page=-1", c.clone()));
    for id in bad_ids().into_iter().chain(["0000".to_owned(), "{cu}x".to_owned()]) {
        let short = id.chars().take(30).collect::<String>();
        for sub in ["active_sessions", "last_seen_identity", "failed_logins", "active_sessions/n0nce"] {
            cases.push(get(
                "cf user sub-resources",
                format!("{sub}, id {short}"),
                format!("{account}/access/users/{id}/{sub}"),
                c.clone(),
            ));
        }
    }
    for nonce in bad_ids() {
        let short = nonce.chars().take(30).collect::<String>();
        cases.push(get(
            "cf user sub-resources",
            format!("nonce {short}"),
            format!("{account}/access/users/{{cu}}/active_sessions/{nonce}"),
            c.clone(),
        ));
    }

    // Devices: legacy, physical, registrations.
    let devices = format!("{account}/devices");
    for id in bad_ids() {
        let short = id.chars().take(30).collect::<String>();
        cases.push(get("cf devices legacy", format!("id {short}"), format!("{devices}/{id}"), c.clone()));
        cases.push(get(
            "cf devices physical",
            format!("id {short}"),
            format!("{devices}/physical-devices/{id}"),
            c.clone(),
        ));
        cases.push(
            request(
                "cf devices physical",
                format!("revoke, id {short}"),
                Method::POST,
                format!("{devices}/physical-devices/{id}/revoke"),
                c.clone(),
            )
            .writes(w),
        );
        cases.push(get("cf registrations", format!("id {short}"), format!("{devices}/registrations/{id}"), c.clone()));
        cases.push(
            request(
                "cf registrations",
                format!("revoke id={short}"),
                Method::POST,
                format!("{devices}/registrations/revoke?id={id}"),
                c.clone(),
            )
            .writes(w),
        );
    }
    for revoke in ["revoke", "unrevoke"] {
        let path = format!("{devices}/{revoke}");
        bad_bodies_to(cases, "cf devices legacy", Method::POST, &path, c.clone(), Some(w));
        let many = format!("[{}]", vec!["\"{cd}\""; 201].join(","));
        for (what, body) in [
            ("an object", r#"{"ids":["{cd}"]}"#.to_owned()),
            ("empty", "[]".to_owned()),
            ("a NUL id", r#"["\u0000"]"#.to_owned()),
            ("an empty id", r#"[""]"#.to_owned()),
            ("a number", "[1]".to_owned()),
            ("nested", r#"[["{cd}"]]"#.to_owned()),
            ("an unknown id", r#"["{cd}","nope"]"#.to_owned()),
            ("201 ids", many),
        ] {
            cases.push(
                request("cf devices legacy", format!("{revoke} {what}"), Method::POST, path.as_str(), c.clone())
                    .json(body)
                    .writes(w),
            );
        }
    }
    for n in QUERY_NUMBERS {
        cases.push(get(
            "cf devices physical",
            format!("per_page={n}"),
            format!("{devices}/physical-devices?per_page={n}"),
            c.clone(),
        ));
        cases.push(get(
            "cf registrations",
            format!("per_page={n}"),
            format!("{devices}/registrations?per_page={n}"),
            c.clone(),
        ));
        cases.push(get("cf devices legacy", format!("per_page={n}"), format!("{devices}?per_page={n}"), c.clone()));
    }
    for query in [
        "cursor=!!!",
        "cursor=bm90IGpzb24",
        "cursor=WzEsMl0",
        "sort_order=up",
        "active_registrations=some",
        "seen_after=yesterday",
        "seen_before=2026-13-45T99:00:00Z",
        "last_seen_user.email=%00",
    ] {
        cases.push(get("cf devices physical", query, format!("{devices}/physical-devices?{query}"), c.clone()));
    }
    for query in ["cursor=!!!", "cursor=%00", "status=deleted", "sort_order=%00", "user.email=%FF", "a=%ZZ"] {
        cases.push(get("cf registrations", query, format!("{devices}/registrations?{query}"), c.clone()));
    }
    for revoke in ["revoke", "unrevoke"] {
        let many = vec!["id={cd}"; 201].join("&");
        for (what, query) in [
            ("no id", String::new()),
            ("an empty id", "id=".to_owned()),
            ("an unknown id", "id={cd}&id=nope".to_owned()),
            ("201 ids", many),
            ("a malformed query", "id=%ZZ".to_owned()),
        ] {
            cases.push(
                request(
                    "cf registrations",
                    format!("{revoke} {what}"),
                    Method::POST,
                    format!("{devices}/registrations/{revoke}?{query}"),
                    c.clone(),
                )
                .writes(w),
            );
        }
    }

    // Token verification.
    for (what, auth) in [
        ("no token", Auth::None),
        ("an empty bearer", Auth::Header("Bearer ".into())),
        ("an unknown token", Auth::Header("Bearer nope".into())),
        ("a huge token", Auth::Header(format!("Bearer {}", "t".repeat(8000)))),
        ("Basic", Auth::Header("Basic eDp5".into())),
        ("a disabled token", Auth::Header("Bearer {ca}-disabled".into())),
    ] {
        cases.push(get("cf token verify", what, "/client/v4/user/tokens/verify", auth.clone()));
        cases.push(get("cf token verify", format!("account, {what}"), format!("{account}/tokens/verify"), auth));
    }
    cases.push(get("cf token verify", "account id not hex", "/client/v4/accounts/xyz/tokens/verify", c.clone()));
}

fn control(cases: &mut Vec<Case>) {
    let a = Auth::Admin;
    let tenants = "/_userplane/tenants";

    // Creating tenants: each must be refused and leave no tenant behind.
    let mut tenant_case = |what: String, account: &str, body: String| {
        let mut case = request("control tenants", what, Method::POST, tenants, Auth::Admin).json(body);
        case.absent = Some(format!("/_userplane/tenants/{account}"));
        cases.push(case);
    };
    for (what, doc) in [
        ("provider okta", r#"{"provider":"okta","account_id":"ACCT"}"#),
        ("provider a number", r#"{"provider":1,"account_id":"ACCT"}"#),
        ("plan a number", r#"{"provider":"zoom","account_id":"ACCT","plan":1}"#),
        ("plan unknown", r#"{"provider":"zoom","account_id":"ACCT","plan":"gold"}"#),
        ("rate_limits maybe", r#"{"provider":"zoom","account_id":"ACCT","rate_limits":"maybe"}"#),
        ("users not an array", r#"{"provider":"zoom","account_id":"ACCT","users":"x"}"#),
        ("a user email a number", r#"{"provider":"zoom","account_id":"ACCT","users":[{"email":1}]}"#),
        ("a user without email", r#"{"provider":"zoom","account_id":"ACCT","users":[{"type":1}]}"#),
        (
            "a user type 2^63",
            r#"{"provider":"zoom","account_id":"ACCT","users":[{"email":"a@b.c","type":9223372036854775808}]}"#,
        ),
        ("a misspelt field", r#"{"provider":"zoom","account_id":"ACCT","users":[{"email":"a@b.c","rolee":"admin"}]}"#),
        ("an app without a secret", r#"{"provider":"zoom","account_id":"ACCT","apps":[{"client_id":"x"}]}"#),
        ("cloudflare account not hex", r#"{"provider":"cloudflare","account_id":"ACCT"}"#),
        (
            "a duplicate user",
            r#"{"provider":"zoom","account_id":"ACCT","users":[{"email":"a@b.c"},{"email":"A@b.c"}]}"#,
        ),
    ] {
        let account = crate::helpers::unique("bad");
        tenant_case(what.to_owned(), &account, doc.replace("ACCT", &account));
    }
    for (what, account_json, account_path) in [
        ("account_id with NUL", "\"bad\\u0000id\"", "bad%00id"),
        ("account_id a traversal", "\"../tenants\"", "..%2Ftenants"),
        ("account_id huge", &format!("\"{}\"", "a".repeat(5000)), &"a".repeat(5000)),
        ("account_id empty", "\"\"", "%20"),
        ("account_id unicode", "\"t\\u00e9n\\u202e\"", "t%C3%A9n%E2%80%AE"),
        ("account_id a number", "12", "12"),
    ] {
        tenant_case(what.to_owned(), account_path, format!(r#"{{"provider":"zoom","account_id":{account_json}}}"#));
    }
    for (what, content_type, body) in bad_bodies() {
        cases.push(request("control tenants", what, Method::POST, tenants, a.clone()).body(content_type, body));
    }
    for id in bad_ids() {
        let short = id.chars().take(30).collect::<String>();
        cases.push(get("control tenants", format!("get {short}"), format!("{tenants}/{id}"), a.clone()));
        cases.push(request(
            "control tenants",
            format!("delete {short}"),
            Method::DELETE,
            format!("{tenants}/{id}"),
            a.clone(),
        ));
        cases.push(request(
            "control tenants",
            format!("reset {short}"),
            Method::POST,
            format!("{tenants}/{id}/reset"),
            a.clone(),
        ));
        cases.push(get("control clock", format!("get {short}"), format!("{tenants}/{id}/clock"), a.clone()));
        cases.push(get("control journal", format!("tenant {short}"), format!("{tenants}/{id}/journal"), a.clone()));
        cases.push(
            request(
                "control sessions",
                format!("tenant {short}"),
                Method::POST,
                format!("{tenants}/{id}/sessions"),
                a.clone(),
            )
            .json(r#"{"user":"lena@example.com","kind":"sso"}"#),
        );
    }
    cases.push(get("control tenants", "no admin token", tenants, Auth::None));
    cases.push(get("control tenants", "a wrong admin token", tenants, Auth::Header("Bearer nope".into())));
    cases.push(get("control tenants", "Basic", tenants, Auth::Header(format!("Basic {}", "x".repeat(9000)))));

    // Sessions on both tenants.
    for (tenant, account) in [(Tenant::Zoom, "{za}"), (Tenant::Cloudflare, "{ca}")] {
        let path = format!("{tenants}/{account}/sessions");
        bad_bodies_to(cases, "control sessions", Method::POST, &path, a.clone(), Some(tenant));
        for body in [
            r#"{"kind":"sso"}"#,
            r#"{"user":"lena@example.com"}"#,
            r#"{"user":"lena@example.com","kind":"password"}"#,
            r#"{"user":1,"kind":"sso"}"#,
            r#"{"user":"lena@example.com\u0000","kind":"sso"}"#,
            r#"{"user":"lena@example.com","kind":"user_oauth","scopes":"all"}"#,
            r#"{"user":"lena@example.com","kind":"user_oauth","scopes":[1]}"#,
            r#"{"user":"jdoe@example.com","kind":"access","app":7}"#,
            r#"{"user":"jdoe@example.com","kind":"access"}"#,
            r#"{"user":"jdoe@example.com","kind":"warp","device":"\u0000"}"#,
            r#"{"user":"nobody@example.com","kind":"access","app":"Wiki"}"#,
        ] {
            cases.push(
                request("control sessions", body, Method::POST, path.as_str(), a.clone()).json(body).writes(tenant),
            );
        }
    }

    // Introspection: a read; a lenient form parse may answer `{"active": false}`.
    let introspect = "/_userplane/introspect";
    bad_bodies_to(cases, "control introspect", Method::POST, introspect, a.clone(), None);
    for (what, content_type, body) in [
        ("token a number", "application/json", r#"{"token":1}"#.to_owned()),
        ("token null", "application/json", r#"{"token":null}"#.to_owned()),
        ("no token", "application/json", r#"{}"#.to_owned()),
        ("token an object", "application/json", r#"{"token":{}}"#.to_owned()),
        ("a form with a bad escape", "application/x-www-form-urlencoded", "token=%ZZ".to_owned()),
        ("a form without token", "application/x-www-form-urlencoded", "tok=1".to_owned()),
        ("a body over the limit", "application/json", format!(r#"{{"token":"{}"}}"#, "t".repeat(70_000))),
    ] {
        cases.push(
            request("control introspect", what, Method::POST, introspect, a.clone()).body(Some(content_type), body),
        );
    }

    // The clock: every absurd advance.
    let clock = format!("{tenants}/{{za}}/clock");
    bad_bodies_to(cases, "control clock", Method::POST, &clock, a.clone(), Some(Tenant::Zoom));
    for n in JSON_NUMBERS.iter().chain(&["null", "-9223372036854775808", "9223372036854775", "-9223372036854775"]) {
        cases.push(
            request("control clock", format!("advance_seconds {n}"), Method::POST, clock.as_str(), a.clone())
                .json(format!(r#"{{"advance_seconds":{n}}}"#))
                .writes(Tenant::Zoom)
                .only_if_refusable(n),
        );
    }

    // The journal: every numeric parameter.
    for n in QUERY_NUMBERS {
        for param in ["after", "limit"] {
            cases.push(get(
                "control journal",
                format!("{param}={n}"),
                format!("{tenants}/{{za}}/journal?{param}={n}"),
                a.clone(),
            ));
        }
    }
    cases.push(get("control journal", "a malformed query", format!("{tenants}/{{za}}/journal?limit=%ZZ"), a.clone()));
}

impl Case {
    /// `advance_seconds` 0 and -1 are valid requests (a no-op, a step back): read-only
    /// for this suite's purpose they are not, so they are checked as plain answers.
    fn only_if_refusable(mut self, n: &str) -> Case {
        if ["0", "-1"].contains(&n) {
            self.writes = None;
        }
        self
    }
}

/// The HTTP layer: raw requests, each on its own connection.
fn http(cases: &mut Vec<Case>) {
    let raw = |family: &'static str, what: &str, path: &str, below_router: bool, bytes: Vec<u8>| Case {
        family,
        what: what.to_owned(),
        send: Send::Raw { bytes, path: path.to_owned(), below_router },
        writes: None,
        absent: None,
    };
    let targets =
        ["/v2/users", "/client/v4/accounts/{ca}/access/users", "/_userplane/tenants", "/oauth/token", "/nowhere"];

    for (what, line) in [
        ("an empty line, then only a method", "\r\nGET\r\n\r\n".to_owned()),
        ("only a method", "GET\r\n\r\n".to_owned()),
        ("no version", "GET /_userplane/health\r\n\r\n".to_owned()),
        ("HTTP/9.9", "GET /_userplane/health HTTP/9.9\r\n\r\n".to_owned()),
        ("four words", "GET / HTTP/1.1 extra\r\n\r\n".to_owned()),
        ("a lower-case version", "GET / http/1.1\r\n\r\n".to_owned()),
        ("a NUL in the method", "G\0T / HTTP/1.1\r\nHost: x\r\n\r\n".to_owned()),
        ("a control byte in the path", "GET /v2/\x01users HTTP/1.1\r\nHost: x\r\n\r\n".to_owned()),
        ("a space in the path", "GET /v2/us ers HTTP/1.1\r\nHost: x\r\n\r\n".to_owned()),
        ("a method of 5000 letters", format!("{} / HTTP/1.1\r\nHost: x\r\n\r\n", "G".repeat(5000))),
        ("binary garbage", "\u{1}\u{2}\u{3}\u{7f}\r\n\r\n".to_owned()),
        ("TLS on a plain port", "\u{16}\u{3}\u{1}\u{0}\u{a5}\u{1}\u{0}\u{0}\u{a1}\u{3}\u{3}\r\n\r\n".to_owned()),
        (
            "an absolute-form URI to another host",
            "GET http://evil.example/_userplane/tenants HTTP/1.1\r\nHost: x\r\n\r\n".to_owned(),
        ),
        ("an authority-form URI", "CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\n\r\n".to_owned()),
        ("a bare LF", "GET /_userplane/nowhere HTTP/1.1\nHost: x\n\n".to_owned()),
    ] {
        // What the server can make of the target decides the dialect; the control plane's
        // format is accepted wherever the request never reached the router.
        let target = line.split(' ').nth(1).filter(|t| t.starts_with('/')).unwrap_or("/").to_owned();
        cases.push(raw("http request line", what, &target, true, line.into_bytes()));
    }

    for target in targets {
        let get = |headers: &str| {
            format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n").into_bytes()
        };
        for (what, headers, below) in [
            ("a NUL in a header value", "X-A: a\0b\r\n".to_owned(), true),
            ("a control byte in a header value", "X-A: a\x01b\r\n".to_owned(), true),
            ("obs-fold", "X-A: a\r\n  folded\r\n".to_owned(), true),
            ("a header without a colon", "NoColon\r\n".to_owned(), true),
            ("a space before the colon", "X-A : b\r\n".to_owned(), true),
            ("an empty header name", ": b\r\n".to_owned(), true),
            ("a 1 MB header", format!("X-Big: {}\r\n", "a".repeat(1 << 20)), true),
            ("200 headers", (0..200).map(|i| format!("X-H{i}: v\r\n")).collect(), true),
            ("a NUL in Authorization", "Authorization: Bearer a\0b\r\n".to_owned(), true),
            ("a Latin-1 Authorization", "Authorization: Bearer caf\u{e9}\r\n".to_owned(), false),
            ("two Host headers", "Host: y\r\n".to_owned(), false),
            ("a Content-Length that is not a number", "Content-Length: abc\r\n".to_owned(), true),
        ] {
            cases.push(raw("http headers", &format!("{what} to {target}"), target, below, get(&headers)));
        }
        cases.push(raw(
            "http path",
            &format!("a 70 KB path under {target}"),
            target,
            true,
            format!("GET {target}/{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "p".repeat(70_000))
                .into_bytes(),
        ));
        cases.push(raw(
            "http path",
            &format!("a 60 KB query on {target}"),
            target,
            false,
            format!("GET {target}?q={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "q".repeat(60_000))
                .into_bytes(),
        ));
        // With the target's credentials, so that the body is read, not refused unread.
        let auth = match super::Dialect::of(target) {
            super::Dialect::Zoom => "Authorization: Bearer {zt}\r\n".to_owned(),
            super::Dialect::Cloudflare => "Authorization: Bearer {ca}-admin\r\n".to_owned(),
            super::Dialect::Control => format!("Authorization: Bearer {}\r\n", crate::helpers::ADMIN_TOKEN),
            super::Dialect::OAuth => String::new(),
        };
        let post = |headers: &str, body: &[u8]| {
            let mut bytes = format!("POST {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n{auth}{headers}\r\n").into_bytes();
            bytes.extend_from_slice(body);
            bytes
        };
        for (what, headers, body, below) in [
            (
                "a chunk size that is not hex",
                "Transfer-Encoding: chunked\r\n",
                b"zz\r\n{}\r\n0\r\n\r\n".to_vec(),
                false,
            ),
            (
                "a chunk size that overflows",
                "Transfer-Encoding: chunked\r\n",
                b"ffffffffffffffffffff\r\n{}\r\n0\r\n\r\n".to_vec(),
                false,
            ),
            (
                "a chunk longer than it says",
                "Transfer-Encoding: chunked\r\n",
                b"1\r\n{}}}\r\n0\r\n\r\n".to_vec(),
                false,
            ),
            ("an unknown transfer coding", "Transfer-Encoding: gzip\r\n", b"{}".to_vec(), true),
            (
                "chunked and Content-Length",
                "Transfer-Encoding: chunked\r\nContent-Length: 2\r\n",
                b"2\r\n{}\r\n0\r\n\r\n".to_vec(),
                true,
            ),
            ("two different Content-Lengths", "Content-Length: 2\r\nContent-Length: 3\r\n", b"{}".to_vec(), true),
            ("a negative Content-Length", "Content-Length: -1\r\n", b"{}".to_vec(), true),
            ("a Content-Length of 2^64", "Content-Length: 18446744073709551616\r\n", b"{}".to_vec(), true),
            ("a Content-Length shorter than the body", "Content-Length: 1\r\n", b"{}".to_vec(), false),
            ("a Content-Length over the limit", "Content-Length: 1000000000\r\n", b"{}".to_vec(), false),
        ] {
            let mut case =
                raw("http body framing", &format!("{what} to {target}"), target, below, post(headers, &body));
            case.writes = (target == "/v2/users").then_some(Tenant::Zoom);
            cases.push(case);
        }
        let big = format!("{{\"a\":\"{}\"}}", "a".repeat(70_000));
        cases.push(raw(
            "http body limit",
            &format!("70 KB with a Content-Length to {target}"),
            target,
            false,
            post(&format!("Content-Length: {}\r\n", big.len()), big.as_bytes()),
        ));
        let mut chunked = format!("{:x}\r\n", big.len()).into_bytes();
        chunked.extend_from_slice(big.as_bytes());
        chunked.extend_from_slice(b"\r\n0\r\n\r\n");
        cases.push(raw(
            "http body limit",
            &format!("70 KB chunked to {target}"),
            target,
            false,
            post("Transfer-Encoding: chunked\r\n", &chunked),
        ));
    }

    // Path traversal and odd paths the URL parser of a client would have normalised.
    for path in [
        "/v2/users/../../_userplane/tenants",
        "/v2/users/%2e%2e/%2e%2e/_userplane/tenants",
        "/client/v4/accounts/../../../_userplane/tenants",
        "/_userplane/tenants/../../v2/users",
        "//v2//users",
        "/v2/users/%2F%2F",
        "/_userplane/%00",
        "/client/v4/%FF",
        "/v2/users?%",
        "*",
    ] {
        let target = if path == "*" { "/" } else { path };
        cases.push(raw(
            "http path",
            path,
            target,
            path == "*",
            format!(
                "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {}\r\n\r\n",
                crate::helpers::ADMIN_TOKEN
            )
            .into_bytes(),
        ));
    }
}
