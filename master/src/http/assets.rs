//! The web UI's files (`ui/`), compiled into the binary so a master serves
//! its UI with nothing to install beside it. The UI reads `GET /state` only.

use actix_web::http::header::ContentType;
use actix_web::HttpResponse;

const INDEX_HTML: &str = include_str!("ui/index.html");
const APP_JS: &str = include_str!("ui/app.js");
const STYLE_CSS: &str = include_str!("ui/style.css");

/// `GET /`: the UI's page.
pub(super) async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(INDEX_HTML)
}

/// `GET /app.js`: the UI's script.
pub(super) async fn app_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/javascript; charset=utf-8")
        .body(APP_JS)
}

/// `GET /style.css`: the UI's style sheet.
pub(super) async fn style_css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(STYLE_CSS)
}
