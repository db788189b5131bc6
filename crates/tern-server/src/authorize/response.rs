//! The authorization response: what goes back to the application (a code,
//! or an error) and how (`response_mode`). Rendering it as a redirect or a
//! page is the route's job; this is the data.

use tern_core::login_transaction::{AuthorizationRequest, ResponseMode};
use tern_core::url_match::origin_of;

/// A response to deliver to the application's callback.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizationResponse {
    /// The checked callback.
    pub redirect_uri: String,
    /// How to deliver it.
    pub mode: ResponseMode,
    /// The origin a `web_message` response is posted to.
    pub web_origin: Option<String>,
    /// `code` and `state`, or `error`, `error_description` and `state`.
    pub params: Vec<(&'static str, String)>,
}

impl AuthorizationResponse {
    /// An error for a callback that has been checked.
    pub fn error(
        redirect_uri: &str,
        mode: ResponseMode,
        web_origin: Option<String>,
        state: Option<&str>,
        error: &'static str,
        description: &str,
    ) -> Self {
        let mut params = vec![
            ("error", error.to_string()),
            ("error_description", description.to_string()),
        ];
        if let Some(st) = state {
            params.push(("state", st.to_string()));
        }
        Self {
            redirect_uri: redirect_uri.to_string(),
            mode,
            web_origin,
            params,
        }
    }

    /// An error answering `request`.
    pub fn error_for(
        request: &AuthorizationRequest,
        error: &'static str,
        description: &str,
    ) -> Self {
        Self::error(
            &request.redirect_uri,
            request.response_mode,
            web_origin(request),
            request.state.as_deref(),
            error,
            description,
        )
    }

    /// A code answering `request`. `state` only when the application sent
    /// one (openid-client refuses an unexpected `state`).
    pub fn code(request: &AuthorizationRequest, code: String) -> Self {
        let mut params = vec![("code", code)];
        if let Some(st) = &request.state {
            params.push(("state", st.clone()));
        }
        Self {
            redirect_uri: request.redirect_uri.clone(),
            mode: request.response_mode,
            web_origin: web_origin(request),
            params,
        }
    }

    /// The callback URL with the parameters in its query (`response_mode=query`),
    /// keeping any query the registered callback has.
    pub fn redirect_url(&self) -> String {
        let mut url = self.redirect_uri.clone();
        let mut sep = if url.contains('?') { '&' } else { '?' };
        for (k, v) in &self.params {
            url.push(sep);
            url.push_str(k);
            url.push('=');
            url.push_str(&urlencoding::encode(v));
            sep = '&';
        }
        url
    }
}

fn web_origin(request: &AuthorizationRequest) -> Option<String> {
    (request.response_mode == ResponseMode::WebMessage)
        .then(|| origin_of(&request.redirect_uri))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_appended_and_encoded() {
        let r = AuthorizationResponse::error(
            "https://app.example/cb?tenant=a",
            ResponseMode::Query,
            None,
            Some("x y&z"),
            "login_required",
            "Login required",
        );
        assert_eq!(
            r.redirect_url(),
            "https://app.example/cb?tenant=a&error=login_required&error_description=Login%20required&state=x%20y%26z"
        );
    }
}
