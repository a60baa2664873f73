//! Token verification: `GET /user/tokens/verify` and `GET /accounts/{id}/tokens/verify`.
//! Tokens only (a global key gets 400 10001); an unknown token is 400 1000 "Invalid API
//! Token"; a known one is answered with its status (`active`, `disabled`, `expired`).
//! Every userplane token belongs to an account, and both paths verify it (Cloudflare
//! sends account-owned tokens to the account path).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::auth::{Caller, Schemes, authenticate};
use super::{CfError, Ctx, Ids, envelope};
use crate::domain::clock::rfc3339;

fn verified(caller: &Caller) -> Response {
    let credential = &caller.credential;
    let mut result = json!({"id": credential.id, "status": credential.status});
    if let Some(expires) = credential.expires_at {
        result["expires_on"] = json!(rfc3339(expires));
    }
    let messages = if credential.status == "active" {
        vec![json!({"code": 10000, "message": "This API Token is valid and active", "type": null})]
    } else {
        Vec::new()
    };
    envelope::with_status(StatusCode::OK, result, messages)
}

/// `GET /user/tokens/verify`.
pub async fn verify_user_token(ctx: Ctx) -> Result<Response, CfError> {
    let caller = authenticate(&ctx, Schemes::Verify).await?;
    Ok(verified(&caller))
}

/// `GET /accounts/{account_id}/tokens/verify`: the token must belong to that account.
pub async fn verify_account_token(ctx: Ctx, ids: Ids) -> Result<Response, CfError> {
    let caller = authenticate(&ctx, Schemes::Verify).await?;
    caller.authorize(&ctx, &ids.scope()).await?;
    Ok(verified(&caller))
}
