//! The gateway's one error table (code, HTTP status, fault side) and the two ways to render an error: S3's
//! `<Error>` and the query protocol's `<ErrorResponse>` (IAM, STS). Errors raised inside s3s keep s3s's own
//! rendering; everything the gateway answers itself comes from here.

use std::borrow::Cow;

use http::{HeaderValue, Response, StatusCode};
use s3s::Body;

use crate::front::xml_escape;

macro_rules! codes {
    ($($name:ident = $status:literal, $sender:literal;)*) => {
        /// An error code the gateway answers itself.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Code { $($name,)* }

        impl Code {
            /// AWS's spelling.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$name => stringify!($name),)* }
            }
            /// The HTTP status AWS answers it with.
            pub fn status(self) -> StatusCode {
                match self {
                    $(Code::$name => StatusCode::from_u16($status).unwrap_or(StatusCode::BAD_REQUEST),)*
                }
            }
            /// Whether the caller is at fault (`Sender`) rather than the service (`Receiver`).
            pub fn sender(self) -> bool {
                match self { $(Code::$name => $sender,)* }
            }
        }
    };
}

codes! {
    AccessDenied = 403, true;
    AuthorizationHeaderMalformed = 400, true;
    AuthorizationQueryParametersError = 400, true;
    ExpiredToken = 400, true;
    IncompleteSignature = 400, true;
    InternalError = 500, false;
    InternalFailure = 500, false;
    InvalidAccessKeyId = 403, true;
    InvalidAction = 400, true;
    InvalidArgument = 400, true;
    InvalidClientTokenId = 403, true;
    InvalidParameterValue = 400, true;
    InvalidRequest = 400, true;
    InvalidToken = 400, true;
    MalformedQueryString = 404, true;
    MissingAction = 400, true;
    MissingAuthenticationToken = 403, true;
    PackedPolicyTooLarge = 400, true;
    MalformedPolicyDocument = 400, true;
    NotImplemented = 501, false;
    RequestEntityTooLarge = 413, true;
    RequestExpired = 400, true;
    RequestHeaderSectionTooLarge = 400, true;
    RequestTimeTooSkewed = 403, true;
    SignatureDoesNotMatch = 403, true;
    ValidationError = 400, true;
}

/// An error answered by the gateway: a code from the table, or one a service crate (IAM) defines itself.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: Cow<'static, str>,
    pub status: StatusCode,
    pub sender: bool,
    pub message: String,
    /// Extra XML elements (already escaped) after the message in S3's form.
    pub extra: String,
}

impl ApiError {
    /// An error of the table.
    pub fn new(code: Code, message: impl Into<String>) -> ApiError {
        ApiError {
            code: Cow::Borrowed(code.as_str()),
            status: code.status(),
            sender: code.sender(),
            message: message.into(),
            extra: String::new(),
        }
    }

    /// An error whose code and status a service crate decides.
    pub fn custom(
        code: impl Into<Cow<'static, str>>,
        status: StatusCode,
        sender: bool,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            code: code.into(),
            status,
            sender,
            message: message.into(),
            extra: String::new(),
        }
    }

    /// With extra S3 XML elements.
    pub fn with_extra(mut self, extra: String) -> ApiError {
        self.extra = extra;
        self
    }

    /// S3's `<Error>` body.
    pub fn s3_response(&self, rid: &str) -> Response<Body> {
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>{}<RequestId>{rid}</RequestId></Error>",
            self.code,
            xml_escape(&self.message),
            self.extra
        );
        respond(self.status, xml)
    }

    /// The query protocol's `<ErrorResponse>` body in the service's XML namespace.
    pub fn query_response(&self, namespace: &str, rid: &str) -> Response<Body> {
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse xmlns=\"{namespace}\"><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>",
            if self.sender { "Sender" } else { "Receiver" },
            self.code,
            xml_escape(&self.message)
        );
        respond(self.status, xml)
    }
}

fn respond(status: StatusCode, xml: String) -> Response<Body> {
    let mut resp = Response::new(Body::from(xml));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    resp
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_table_gives_status_and_side() {
        assert_eq!(Code::SignatureDoesNotMatch.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            Code::InternalFailure.status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert!(!Code::InternalFailure.sender());
        assert_eq!(Code::InvalidAction.as_str(), "InvalidAction");
    }

    #[test]
    fn both_renderings_carry_code_message_and_request_id() {
        let e = ApiError::new(Code::ValidationError, "a < b");
        let body =
            |r: Response<Body>| String::from_utf8(r.into_body().bytes().unwrap().to_vec()).unwrap();
        let q = body(e.query_response("https://iam.amazonaws.com/doc/2010-05-08/", "RID1"));
        assert!(
            q.contains(
                "<Type>Sender</Type><Code>ValidationError</Code><Message>a &lt; b</Message>"
            ),
            "{q}"
        );
        assert!(q.contains("<RequestId>RID1</RequestId></ErrorResponse>"));
        let s = body(e.s3_response("RID2"));
        assert!(
            s.contains("<Error><Code>ValidationError</Code>")
                && s.contains("<RequestId>RID2</RequestId>"),
            "{s}"
        );
    }
}
